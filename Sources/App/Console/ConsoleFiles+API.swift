extension ConsoleFiles {
    /// `api.js`: requests to the public API with the tab's token, and event streams read with `fetch()`.
    static let api = ConsoleAsset(name: "api.js", contentType: "text/javascript; charset=utf-8", text: #"""
// The console's one way to the server: the public API, with the token held for this tab only.
const KEY = 'troupe.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra) {
  const all = { Accept: 'application/json', ...extra };
  if (session.token) all.Authorization = 'Bearer ' + session.token;
  return all;
}

// Sends one request; resolves to the answer's JSON (null when empty), rejects with APIError.
export async function api(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new APIError(response.status, error.code || 'http_' + response.status, error.message || response.statusText);
  }
  return data;
}

// Follows a Server-Sent Events stream through fetch() (EventSource cannot send Authorization),
// calling onEvent with each event's JSON, until the stream ends or signal aborts it.
export async function follow(path, onEvent, signal, onOpen) {
  const response = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal });
  if (!response.ok || !response.body) throw new APIError(response.status, 'stream_unavailable', 'The event stream could not be opened.');
  if (onOpen) onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).replace(/^ /, '')).join('\n');
      if (!data) continue;
      let event;
      try { event = JSON.parse(data); } catch { continue; }
      await onEvent(event);
    }
  }
}
"""#)
}
