// Start the Firestore emulator (@firestore-emulator/server) on 127.0.0.1:<port> only.
// The package's own start() binds 0.0.0.0; we bind loopback because servers we start for dev and
// tests must not be reachable from elsewhere.
const { FirestoreServer } = require("@firestore-emulator/server");
const { ServerCredentials } = require("@grpc/grpc-js");

const host = process.env.FIRESTORE_EMULATOR_BIND || "127.0.0.1";
const port = Number(process.argv[2] || 8080);
const emulator = new FirestoreServer();

emulator.server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`firestore emulator: cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`firestore emulator listening on ${host}:${bound}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    emulator.stop();
    process.exit(0);
  });
}
