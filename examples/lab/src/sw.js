// dlvm Lab's service worker (a template: the build writes it to dist/sw.js with the site's files). It keeps the site usable offline once it has been loaded (every
// same-origin file is cached as it is fetched, and served from the cache when the network fails),
// and it adds the COOP / COEP headers that make the page cross-origin isolated (threaded wasm
// needs SharedArrayBuffer) on static servers that do not send them.
const CACHE = 'dlvm-lab-v1';
// The site's files, filled in by the build (vite.config.ts): cached on install, so the Lab works
// offline after its first visit. (The full MNIST set is cached when it is first used.)
const PRECACHE = /*__PRECACHE__*/ [];
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

self.addEventListener('install', (event) =>
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE);
      await self.skipWaiting();
    })(),
  ),
);
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
