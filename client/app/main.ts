import { mount } from 'svelte';
import App from '../ui/App.svelte';
import { AppModel } from '../ui/models/app-model.svelte';
import { registerShell } from './pwa';

const app = new AppModel();
registerShell({
  needRefresh: (apply) => app.shell.updateReady(apply),
  offlineReady: () => app.shell.markOfflineReady(),
});
void app.start();

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target, props: { app } });
