// Client of the codeless image API (docs/api.md). Every call sends the API key in the x-api-key header.

/** An error response of the API, with its HTTP status (0 when the API could not be reached) and JSON message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * Loads the page settings that the page server generates (`config.json`: apiUrl and apiKey).
 * @returns {Promise<{apiUrl: string, apiKey: string}>}
 */
export async function loadConfig() {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) {
    throw new Error(
      `config.json could not be loaded (HTTP ${response.status}): open the page that npm start prints`,
    );
  }
  const config = await response.json();
  if (typeof config.apiUrl !== 'string' || typeof config.apiKey !== 'string') {
    throw new Error('config.json has no apiUrl or apiKey string: restart npm start');
  }
  return config;
}

/**
 * Reads the message of an error response: the JSON `message` that API Gateway and the mapping templates send,
 * else the body text, else the status text.
 * @param {Response} response
 */
async function errorMessage(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body !== null && typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON: fall back to the text itself.
  }
  return text.trim() || response.statusText || 'no message';
}

/**
 * Creates the API client for one API URL and key.
 * @param {{apiUrl: string, apiKey: string}} config
 */
export function createApiClient({ apiUrl, apiKey }) {
  const base = apiUrl.replace(/\/+$/, '');

  /**
   * @param {string} route path below the stage, already encoded
   * @param {RequestInit} [init]
   */
  async function request(route, init = {}) {
    const headers = new Headers(init.headers);
    headers.set('x-api-key', apiKey);
    let response;
    try {
      response = await fetch(`${base}${route}`, { ...init, headers });
    } catch (error) {
      throw new ApiError(
        0,
        `The API at ${base} cannot be reached (${error.message}). Is the local stack running?`,
      );
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return response;
  }

  return {
    /**
     * Lists one page of images (`GET /images?limit=N&next=TOKEN`).
     * @param {number} limit
     * @param {string | undefined} next the token of the previous page, if any
     * @returns {Promise<{items: object[], next?: string}>}
     */
    async listImages(limit, next) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (next !== undefined) query.set('next', next);
      return (await request(`/images?${query}`)).json();
    },

    /**
     * Reads one image's record (`GET /images/{key}`); null while no record exists yet (404).
     * @param {string} key
     */
    async getImage(key) {
      try {
        return await (await request(`/images/${encodeURIComponent(key)}`)).json();
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },

    /**
     * Uploads a file under a key (`PUT /images/{key}`; a `/` in the key is sent as %2F).
     * @param {string} key
     * @param {Blob} file
     * @returns {Promise<{key: string}>}
     */
    async uploadImage(key, file) {
      const response = await request(`/images/${encodeURIComponent(key)}`, {
        method: 'PUT',
        headers: { 'Content-Type': file.type || 'application/octet-stream' },
        body: file,
      });
      return response.json();
    },

    /**
     * Downloads a thumbnail as a Blob. `path` is the item's `thumbnail.path`, which the API returns encoded.
     * @param {string} path
     * @param {string | null} contentType
     */
    async fetchThumbnail(path, contentType) {
      const response = await request(path, { headers: { Accept: contentType ?? 'image/*' } });
      return response.blob();
    },
  };
}
