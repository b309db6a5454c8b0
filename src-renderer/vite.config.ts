// The window's build: src-renderer → dist/renderer, with relative asset paths so the same files
// load from file:// in Electron and from the router's / in a browser.
// `npx vite --config src-renderer/vite.config.ts` serves it with hot reload against a running node
// ($LLM_MANAGER_URL, default http://127.0.0.1:8080).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const node = process.env['LLM_MANAGER_URL'] ?? 'http://127.0.0.1:8080';

// The node refuses other pages' origins; through the dev server the window is the same page.
const toNode: ProxyOptions = {
  target: node,
  changeOrigin: true,
  configure: (proxy) => proxy.on('proxyReq', (req) => req.removeHeader('origin')),
};

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
  },
  server: { port: 5173, proxy: { '/api': toNode, '/v1': toNode } },
});
