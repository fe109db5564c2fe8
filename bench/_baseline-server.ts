// Baseline for `npm run bench -- relay`: the same frames and the same durable SQLite group commit as
// the relay, but nothing else (no auth, no validation, no idempotency, no quotas, no metrics, no
// Fastify). The relay's throughput divided by this one's is the price of everything the relay adds.
// Usage: node bench/_baseline-server.ts DB_PATH PORT_FILE
import { writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { type WebSocket, WebSocketServer } from "ws";
import { GroupCommit } from "../src/store/sqlite/group-commit.ts";
import { WalSync } from "../src/store/sqlite/wal-sync.ts";

const [path, portFile] = process.argv.slice(2);
const db = new DatabaseSync(path!);
db.exec("PRAGMA journal_mode = WAL");
// The relay's store's durability (src/store/sqlite/sqlite-store.ts): COMMIT writes the WAL, the group
// commit fsyncs it off the event loop and settles a write only after that.
db.exec("PRAGMA synchronous = NORMAL");
db.exec(
  "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT, envelope BLOB)",
);
const insert = db.prepare("INSERT INTO messages (recipient, envelope) VALUES (?, ?)");
const remove = db.prepare("DELETE FROM messages WHERE id = ?");
const writer = new GroupCommit(db, 512, new WalSync(path!));
const online = new Map<string, WebSocket>();

const server = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 4 * 1024 * 1024 });
server.on("connection", (socket, request) => {
  const name = new URL(request.url ?? "/", "http://x").searchParams.get("name") ?? "";
  online.set(name, socket);
  socket.send(JSON.stringify({ type: "ready", username: name }));
  socket.on("message", (data) => {
    const frame = JSON.parse(data.toString()) as {
      type: string;
      id?: string;
      to?: string;
      envelope?: string;
      ids?: number[];
    };
    if (frame.type === "send") {
      const envelope = Buffer.from(frame.envelope!, "base64");
      void writer
        .submit(() => Number(insert.run(frame.to!, envelope).lastInsertRowid))
        .then((id) => {
          socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: id }));
          online
            .get(frame.to!)
            ?.send(JSON.stringify({ type: "message", id, from: name, envelope: frame.envelope }));
        });
    } else if (frame.type === "ack") {
      void writer.submit(() => {
        for (const id of frame.ids!) remove.run(id);
      });
    }
  });
});
server.on("listening", () => {
  const { port } = server.address() as { port: number };
  writeFileSync(portFile!, JSON.stringify({ port }));
});
process.on("SIGTERM", () => {
  writer.close();
  db.close();
  process.exit(0);
});
