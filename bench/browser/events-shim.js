// A minimal Node-style EventEmitter for PouchDB in the bench page (the browser has no 'events').
// Methods sit on the prototype as enumerable properties: PouchDB copies them with Object.keys.
function EventEmitter() {
  this._events = Object.create(null);
}
EventEmitter.prototype._events = undefined;
EventEmitter.prototype.setMaxListeners = function () { return this; };
EventEmitter.prototype.on = function (type, fn) {
  if (!this._events) this._events = Object.create(null);
  (this._events[type] ||= []).push(fn);
  return this;
};
EventEmitter.prototype.addListener = EventEmitter.prototype.on;
EventEmitter.prototype.prependListener = function (type, fn) {
  if (!this._events) this._events = Object.create(null);
  (this._events[type] ||= []).unshift(fn);
  return this;
};
EventEmitter.prototype.once = function (type, fn) {
  const self = this;
  function wrapped(...args) {
    self.removeListener(type, wrapped);
    fn.apply(self, args);
  }
  wrapped.listener = fn;
  return this.on(type, wrapped);
};
EventEmitter.prototype.removeListener = function (type, fn) {
  const list = this._events && this._events[type];
  if (!list) return this;
  const i = list.findIndex((l) => l === fn || l.listener === fn);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) delete this._events[type];
  return this;
};
EventEmitter.prototype.off = EventEmitter.prototype.removeListener;
EventEmitter.prototype.removeAllListeners = function (type) {
  if (!this._events) return this;
  if (type === undefined) this._events = Object.create(null);
  else delete this._events[type];
  return this;
};
EventEmitter.prototype.emit = function (type, ...args) {
  const list = this._events && this._events[type];
  if (!list || list.length === 0) {
    if (type === 'error') throw args[0] instanceof Error ? args[0] : new Error(String(args[0]));
    return false;
  }
  for (const fn of [...list]) fn.apply(this, args);
  return true;
};
EventEmitter.prototype.listeners = function (type) {
  return ((this._events && this._events[type]) || []).map((l) => l.listener || l);
};
EventEmitter.prototype.listenerCount = function (type) {
  return ((this._events && this._events[type]) || []).length;
};
EventEmitter.listenerCount = (ee, type) => ee.listenerCount(type);
EventEmitter.EventEmitter = EventEmitter;
export default EventEmitter;
export { EventEmitter };
