// dlvm Lab's service worker. It keeps the site usable offline once it has been loaded (every
// same-origin file is cached as it is fetched, and served from the cache when the network fails),
// and it adds the COOP / COEP headers that make the page cross-origin isolated (threaded wasm
// needs SharedArrayBuffer) on static servers that do not send them.
const CACHE = 'dlvm-lab-v1';
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function isolated(response) {
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(ISOLATION)) headers.set(k, v);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(request, response.clone());
        return isolated(response);
      } catch (e) {
        const cached = await cache.match(request);
        if (cached) return isolated(cached);
        throw e;
      }
    })(),
  );
});
