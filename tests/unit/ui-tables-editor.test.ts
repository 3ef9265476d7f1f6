import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import { TableCommands } from '../../client/commands/table-commands';
import { component } from '../helpers/ui-components';
import { cleanUpAfterEach, model, till } from '../helpers/ui-models';

cleanUpAfterEach();

type TablesMod = typeof import('../../client/ui/models/tables-editor-model.svelte');

describe('the Tables section (TablesEditor)', () => {
  it('[APP40] a table\'s name is measured once trimmed: the inputs cut nothing (a maxlength would count the spaces around "  Terrasse Süd 12  "), the model says when it is too long', async () => {
    const { TablesEditorModel } = await model<TablesMod>('tables-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new TablesEditorModel(t.log, new TableCommands({ store: t.store, role: 'manager' }));
    editor.label = 'T1';
    editor.seatsText = '2';
    expect(await editor.add()).toBe(true);

    const TablesEditor = await component('TablesEditor');
    const html = render(TablesEditor, { props: { model: editor } as never }).body;
    expect(html.match(/<input[^>]*>/g)?.length).toBe(4);
    expect(html).not.toMatch(/maxlength/);

    editor.label = '  Terrasse Süd 12  ';
    expect(editor.addProblem).toBeNull();
    expect(await editor.add()).toBe(true);
    editor.label = ' Terrasse Süd 1234 ';
    expect(editor.addProblem).toBe("At most 16 characters a table's name");
    const [t1] = editor.tables.filter((x) => x.label === 'T1');
    editor.type(t1!, 'label', '  Terrasse Nord 1  ');
    expect(await editor.save(t1!)).toBe(true);
    editor.type(t1!, 'label', 'Terrasse Nord 123');
    expect(await editor.save(t1!)).toBe(false);
    expect(editor.error).toMatch(/at most 16 characters/i);
    expect(editor.tables.map((x) => x.label).sort()).toEqual(['Terrasse Nord 1', 'Terrasse Süd 12']);
  });
});
