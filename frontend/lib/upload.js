// The one place that sends files to the backend.
//
// Uploads are raw request bodies (no multipart): POST /upload/log or /upload/image with
// the incident and file name in the query string. XMLHttpRequest is used instead of fetch
// because only XHR reports upload progress. The same path works in the browser and in the
// desktop window (the page is served by the same local server in both).
//
// Success is 200 with a JSON body; failure is a 4xx/5xx with {error: {code, message}},
// turned into a CommandError so callers handle it like any command failure.

import { CommandError, authHeaders } from './commands.js';

const GENERIC = {
  0: 'The upload was interrupted. Is TFTSR still running?',
  401: 'This page is not authorised. Open the link that TFTSR printed.',
  413: 'The file is larger than the upload limit.',
};

let uploadSeq = 0;

/** An id for one upload, unique in this page (used to match progress events). */
export function newUploadId() {
  uploadSeq += 1;
  return `u${Date.now().toString(36)}${uploadSeq}`;
}

function parseBody(xhr) {
  const text = xhr.responseText;
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (_) {
    return null;
  }
}

/**
 * Send one body to an upload endpoint.
 * @param {string} path      '/upload/log' or '/upload/image'
 * @param {object} query     query-string parameters (undefined values are left out)
 * @param {Blob} body        the file (sent as it is, application/octet-stream)
 * @param {(sent: number, total: number) => void} [onProgress]
 * @returns {{promise: Promise<any>, abort: () => void}}
 */
export function sendUpload(path, query, body, onProgress) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) params.set(k, String(v));
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `${path}?${params.toString()}`, true);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = 'text';
    if (onProgress) {
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
      xhr.upload.onload = () => onProgress(body.size, body.size);
    }
    xhr.onload = () => {
      const data = parseBody(xhr);
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const err = data && data.error;
      if (err && typeof err === 'object') {
        reject(new CommandError(String(err.code || 'internal'), String(err.message || ''), xhr.status));
      } else {
        reject(new CommandError(xhr.status === 413 ? 'too_large' : 'internal',
          GENERIC[xhr.status] || `The backend answered ${xhr.status}.`, xhr.status));
      }
    };
    xhr.onerror = () => reject(new CommandError('unavailable', GENERIC[0], 0));
    xhr.onabort = () => reject(new CommandError('aborted', 'Upload cancelled.', 0));
    xhr.send(body);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Upload a log file to an incident. Resolves {log_file, findings, notice}. */
export function uploadLog(issueId, file, { onProgress, uploadId } = {}) {
  return sendUpload('/upload/log', { issue_id: issueId, filename: file.name || 'log.txt', upload_id: uploadId }, file, onProgress);
}

/**
 * Upload an image to an incident. The caller must have shown the PII warning and had it
 * acknowledged: the server refuses images without pii_warning_acknowledged=1.
 * Resolves {image}.
 */
export function uploadImage(issueId, file, { onProgress, isPaste = false, uploadId } = {}) {
  return sendUpload(
    '/upload/image',
    {
      issue_id: issueId,
      filename: file.name || 'pasted-image.png',
      is_paste: isPaste ? 1 : 0,
      pii_warning_acknowledged: 1,
      upload_id: uploadId,
    },
    file,
    onProgress,
  );
}
