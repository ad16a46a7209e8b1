// The HTTP API, as the dashboard uses it: the operator's token (kept in sessionStorage, so it lasts as long as
// the tab) goes in the Authorization header; errors become ApiError with the server's code and message.

const tokenKey = 'offload.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(tokenKey) ?? '',
  set: (value) => sessionStorage.setItem(tokenKey, value),
  clear: () => sessionStorage.removeItem(tokenKey),
};

/** Called with the error when the server answers 401 (the app then asks for a token). */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** `method path` with an optional JSON body; the parsed JSON answer, or ApiError. */
export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'connect_failed', `cannot reach offloadd (${e.message})`);
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, 'bad_response', `the server answered ${response.status} without JSON`);
  }
  if (response.ok) return parsed;
  const error = new ApiError(response.status, parsed?.error?.code ?? 'http_error',
    parsed?.error?.message ?? `HTTP ${response.status}`);
  if (response.status === 401) onUnauthorized(error);
  throw error;
}

export const api = {
  stats: () => request('GET', '/v1/stats'),
  types: () => request('GET', '/v1/types'),
  job: (id, withInput = false) =>
    request('GET', `/v1/jobs/${encodeURIComponent(id)}${withInput ? '?input=true' : ''}`),
  cancel: (id) => request('DELETE', `/v1/jobs/${encodeURIComponent(id)}`),
  submit: (spec) => request('POST', '/v1/jobs', spec),
  /** One page, newest first: `{jobs, next}`. */
  list: ({ state, type, after, limit = 50 } = {}) => {
    const query = new URLSearchParams({ order: 'newest', limit: String(limit) });
    if (state) query.set('state', state);
    if (type) query.set('type', type);
    if (after) query.set('after', after);
    return request('GET', `/v1/jobs?${query}`);
  },
};
