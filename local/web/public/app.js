// The local web page: upload images through the codeless API and show each one's thumbnail, labels and status.
import { ApiError, createApiClient, loadConfig } from './api.js';

const DEFAULT_PAGE_SIZE = 24;
// The list route accepts limit 1 to 100 (docs/api.md).
const MAX_PAGE_SIZE = 100;
const POLL_INTERVAL_MS = 1000;
const MAX_UPLOAD_LOG_LINES = 20;

const elements = {
  apiUrl: /** @type {HTMLElement} */ (document.getElementById('api-url')),
  dropZone: /** @type {HTMLElement} */ (document.getElementById('drop-zone')),
  fileInput: /** @type {HTMLInputElement} */ (document.getElementById('file-input')),
  error: /** @type {HTMLElement} */ (document.getElementById('error')),
  uploadLog: /** @type {HTMLUListElement} */ (document.getElementById('upload-log')),
  gallery: /** @type {HTMLUListElement} */ (document.getElementById('gallery')),
  empty: /** @type {HTMLElement} */ (document.getElementById('gallery-empty')),
  more: /** @type {HTMLButtonElement} */ (document.getElementById('more')),
  reload: /** @type {HTMLButtonElement} */ (document.getElementById('reload')),
};

/**
 * One gallery entry per image key: its list element, the thumbnail path it shows and that thumbnail's object URL.
 * @type {Map<string, {element: HTMLLIElement, thumbnailPath: string | null, objectUrl: string | null}>}
 */
const cards = new Map();
/** Keys whose status is pending (or whose record does not exist yet); they are polled until they finish. */
const pendingKeys = new Set();
let nextToken;
/** Whether a poll of the pending keys is scheduled or running. */
let polling = false;
/** @type {ReturnType<typeof createApiClient>} */
let api;

/** Reads `?pageSize=N` (1 to 100), so paging can be tried with few images. */
function pageSize() {
  const value = Number(new URLSearchParams(window.location.search).get('pageSize'));
  return Number.isInteger(value) && value >= 1 && value <= MAX_PAGE_SIZE ? value : DEFAULT_PAGE_SIZE;
}

/** @param {unknown} error */
function describeError(error) {
  if (error instanceof ApiError)
    return error.status === 0 ? error.message : `HTTP ${error.status}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** @param {string | null} message */
function showError(message) {
  elements.error.textContent = message ?? '';
  elements.error.hidden = message === null;
}

/**
 * Creates an element with a class and text content (never HTML, since keys and labels come from uploads).
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number} bytes */
function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The record shape of a key that was uploaded but that no function has recorded yet. */
function pendingRecord(key) {
  return {
    id: key,
    status: 'pending',
    labels: [],
    thumbnail: null,
    source: null,
    errors: { thumbnail: null, labels: null },
  };
}

/**
 * Fills a card's figure from an image record: thumbnail slot, key, status, labels, source details and failures.
 * @param {HTMLLIElement} card
 * @param {any} item
 */
function renderCard(card, item) {
  card.dataset.key = item.id;
  card.dataset.status = item.status;
  const figure = element('figure');

  const frame = element('div', 'thumbnail');
  if (item.thumbnail !== null) {
    const image = /** @type {HTMLImageElement} */ (element('img'));
    image.alt = `Thumbnail of ${item.id}`;
    if (item.thumbnail.width !== null) image.width = item.thumbnail.width;
    if (item.thumbnail.height !== null) image.height = item.thumbnail.height;
    frame.append(image);
  } else {
    frame.append(
      element('span', 'no-thumbnail', item.status === 'failed' ? 'No thumbnail' : 'Thumbnail pending'),
    );
  }
  figure.append(frame);

  const caption = element('figcaption');
  const title = element('div', 'card-title');
  title.append(element('span', 'key', item.id), element('span', `status status-${item.status}`, item.status));
  caption.append(title);

  if (item.labels.length > 0) {
    const labels = element('ul', 'labels');
    labels.setAttribute('aria-label', `Labels of ${item.id}`);
    for (const label of item.labels) {
      const entry = element('li', 'label');
      entry.append(element('span', 'label-name', label.name));
      if (typeof label.confidence === 'number') {
        entry.append(' ', element('span', 'confidence', `${Math.round(label.confidence)}%`));
      }
      labels.append(entry);
    }
    caption.append(labels);
  } else if (item.status === 'done') {
    caption.append(element('p', 'no-labels', 'No labels above the confidence threshold'));
  }

  if (item.source !== null) {
    const size = [item.source.width && `${item.source.width}×${item.source.height}`, item.source.format];
    if (typeof item.source.size === 'number') size.push(formatBytes(item.source.size));
    caption.append(element('p', 'source', size.filter(Boolean).join(', ')));
  }

  for (const [stage, message] of Object.entries(item.errors ?? {})) {
    if (typeof message === 'string' && message !== '') {
      caption.append(
        element('p', 'failure', `${stage === 'labels' ? 'Labels' : 'Thumbnail'} failed: ${message}`),
      );
    }
  }
  figure.append(caption);
  card.replaceChildren(figure);
}

/**
 * Shows a thumbnail through an object URL, because an <img> cannot send the x-api-key header itself.
 * @param {string} key
 * @param {any} item
 */
async function showThumbnail(key, item) {
  const card = cards.get(key);
  const image = card?.element.querySelector('img');
  if (card === undefined || !image || item.thumbnail === null) return;
  if (card.thumbnailPath === item.thumbnail.path && card.objectUrl !== null) {
    image.src = card.objectUrl;
    return;
  }
  const blob = await api.fetchThumbnail(item.thumbnail.path, item.thumbnail.contentType);
  // The card may have been replaced while the thumbnail was loading.
  if (cards.get(key) !== card || card.element.querySelector('img') !== image) return;
  if (card.objectUrl !== null) URL.revokeObjectURL(card.objectUrl);
  card.objectUrl = URL.createObjectURL(blob);
  card.thumbnailPath = item.thumbnail.path;
  image.src = card.objectUrl;
}

/**
 * Adds or updates the card of an image record, then loads its thumbnail and polls it while it is pending.
 * @param {any} item
 * @param {{first?: boolean}} [placement] first puts a new or re-uploaded card at the top
 */
function showItem(item, placement = {}) {
  let card = cards.get(item.id);
  if (card === undefined) {
    card = {
      element: /** @type {HTMLLIElement} */ (element('li', 'card')),
      thumbnailPath: null,
      objectUrl: null,
    };
    cards.set(item.id, card);
  }
  if (placement.first) elements.gallery.prepend(card.element);
  else if (!card.element.isConnected) elements.gallery.append(card.element);
  renderCard(card.element, item);
  elements.empty.hidden = true;

  if (item.thumbnail !== null) {
    showThumbnail(item.id, item).catch((error) => {
      const slot = card.element.querySelector('.thumbnail');
      slot?.replaceChildren(element('span', 'no-thumbnail', `Thumbnail not loaded: ${describeError(error)}`));
    });
  }
  if (item.status === 'pending') watchPending(item.id);
  else pendingKeys.delete(item.id);
}

/** @param {string} key */
function watchPending(key) {
  pendingKeys.add(key);
  if (!polling) {
    polling = true;
    setTimeout(pollPending, POLL_INTERVAL_MS);
  }
}

/** Re-reads every pending image once, then schedules itself again while any is still pending. */
async function pollPending() {
  for (const key of [...pendingKeys]) {
    try {
      const item = await api.getImage(key);
      // No record yet: the functions have not started on this upload.
      if (item !== null) showItem(item);
    } catch (error) {
      showError(`Refreshing ${key} failed: ${describeError(error)}`);
    }
  }
  if (pendingKeys.size > 0) setTimeout(pollPending, POLL_INTERVAL_MS);
  else polling = false;
}

/** Loads the next page of the list (the first page when `nextToken` is undefined). */
async function loadPage() {
  elements.gallery.setAttribute('aria-busy', 'true');
  elements.more.disabled = true;
  try {
    const page = await api.listImages(pageSize(), nextToken);
    for (const item of page.items) showItem(item);
    nextToken = page.next;
    elements.more.hidden = nextToken === undefined;
    elements.empty.hidden = cards.size > 0;
    showError(null);
  } catch (error) {
    showError(`Listing the images failed: ${describeError(error)}`);
  } finally {
    elements.more.disabled = false;
    elements.gallery.setAttribute('aria-busy', 'false');
  }
}

/** Empties the gallery, releasing its object URLs, and loads the first page again. */
async function reloadGallery() {
  for (const card of cards.values()) {
    if (card.objectUrl !== null) URL.revokeObjectURL(card.objectUrl);
  }
  cards.clear();
  pendingKeys.clear();
  elements.gallery.replaceChildren();
  nextToken = undefined;
  await loadPage();
}

/**
 * Uploads files one after another under their names and reports each result in the upload log.
 * @param {Iterable<File>} files
 */
async function uploadFiles(files) {
  for (const file of files) {
    const line = element('li', 'upload-pending', `${file.name}: uploading (${formatBytes(file.size)})…`);
    elements.uploadLog.prepend(line);
    while (elements.uploadLog.children.length > MAX_UPLOAD_LOG_LINES)
      elements.uploadLog.lastElementChild?.remove();
    try {
      const { key } = await api.uploadImage(file.name, file);
      line.className = 'upload-done';
      line.textContent = `${file.name}: uploaded as ${key}`;
      // NOTE: a re-upload of a key that is already done shows the old record until the functions rewrite it.
      showItem(pendingRecord(key), { first: true });
    } catch (error) {
      line.className = 'upload-failed';
      line.textContent = `${file.name}: upload failed. ${describeError(error)}`;
    }
  }
}

function wireDropZone() {
  const zone = elements.dropZone;
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    zone.classList.add('drag-over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('drag-over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('drag-over');
    if (event.dataTransfer?.files.length) void uploadFiles(event.dataTransfer.files);
  });
  // A file dropped beside the zone would otherwise replace the page with the file.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());

  elements.fileInput.addEventListener('change', () => {
    const files = [...(elements.fileInput.files ?? [])];
    elements.fileInput.value = '';
    void uploadFiles(files);
  });
}

async function main() {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    elements.apiUrl.textContent = 'not configured';
    showError(describeError(error));
    return;
  }
  elements.apiUrl.textContent = config.apiUrl;
  api = createApiClient(config);
  wireDropZone();
  elements.more.addEventListener('click', () => void loadPage());
  elements.reload.addEventListener('click', () => void reloadGallery());
  await loadPage();
}

void main();
