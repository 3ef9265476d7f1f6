import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The bare relay of the reconnect-storm anchor, run as its own process (so it can be
 * killed -9 like the server): a plain `ws` server that accepts every upgrade, puts the
 * socket in the room named by the URL path and forwards each frame, byte for byte, to the
 * room's other sockets. No auth, no persistence, no document: the floor of any relay.
 * Prints one JSON line `{"msg":"listening","port":N}` once it listens.
 */
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0), backlog: 1024 });

wss.on('connection', (ws, req) => {
  const name = (req.url ?? '/').split('?')[0]!;
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on('message', (data: Buffer, isBinary) => {
    for (const peer of room) if (peer !== ws && peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary });
  });
  const leave = () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(name);
  };
  ws.on('close', leave);
  ws.on('error', leave);
});

wss.on('listening', () => {
  const address = wss.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
});
