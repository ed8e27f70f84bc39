// The public API, as the page uses it: JSON in and out, the session in its HttpOnly cookie,
// the CSRF token from GET /me (or the login answer) on every state-changing request. Every
// failure becomes an ApiError with the API's stable `code` (and `field`), `network` when
// the server could not be reached.
const BASE = '/api/v1';
let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.retryAfter = retryAfter || null;
  }
}

export function setCsrf(token) {
  csrf = token || null;
}

// For requests made without api() (an upload's XHR, for its progress events).
export function csrfToken() {
  return csrf;
}

// api('POST', '/auth/login', {…}) → the decoded answer (null for an empty one).
export async function api(method, path, body, { headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin', cache: 'no-store' };
  if (body instanceof Blob || body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) init.headers['x-csrf-token'] = csrf;
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, 'network');
  }
  if (res.ok && raw) return res;
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message, e.field, res.headers.get('retry-after'));
  }
  return data;
}
