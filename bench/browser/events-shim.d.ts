declare const EventEmitter: unknown;
export default EventEmitter;
export { EventEmitter };
