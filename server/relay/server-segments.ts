import { SERVER_WRITER, SegmentWriter } from '../../shared/log/log-doc';
import type { Room } from './room';

const writers = new WeakMap<Room, SegmentWriter>();

/**
 * The one SegmentWriter of the server's own segments in a room. Shared by everything that
 * appends there (the REST bridge, the room guard): two writers of one writer id would each
 * open "the next" segment under the same key, and one array would replace the other.
 */
export function serverSegmentsOf(room: Room): SegmentWriter {
  let writer = writers.get(room);
  if (writer === undefined) {
    writer = new SegmentWriter(room.doc, SERVER_WRITER);
    writers.set(room, writer);
  }
  return writer;
}
