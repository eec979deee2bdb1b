import { defineConfig } from "vite";

// One copy of yjs in the bundle: y-websocket, y-codemirror.next and the app must share it,
// or Yjs warns and documents stop syncing.
export default defineConfig({
  resolve: { dedupe: ["yjs", "y-protocols", "lib0", "@codemirror/state", "@codemirror/view"] },
  build: { target: "es2022", sourcemap: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/socket.io": { target: "http://127.0.0.1:8000", ws: true },
      "/yjs": { target: "ws://127.0.0.1:8000", ws: true },
      "/lsp": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
