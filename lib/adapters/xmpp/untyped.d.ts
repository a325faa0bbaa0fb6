// xmpp.js ships no types: everything untyped stays inside lib/adapters/xmpp.
declare module '@xmpp/client-core';
declare module '@xmpp/tcp';
declare module '@xmpp/tls/lib/Connection.js';
declare module '@xmpp/tls/lib/Socket.js';
declare module '@xmpp/middleware';
declare module '@xmpp/stream-features';
declare module '@xmpp/iq/caller.js';
declare module '@xmpp/resource-binding';
declare module '@xmpp/xml';
