import { defineConfig } from "vite";

// Tauri loads the dev server from a fixed port and shows Rust errors itself.
export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
});
