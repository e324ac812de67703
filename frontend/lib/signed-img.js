// <img> for an image the backend lists by address (thumbnail_url, full_url).
//
// Those addresses need authorisation, and an <img> cannot send the token, so the image is
// loaded through a short-lived address signed for that one image (lib/commands.js
// signedUrl). If it fails to load (for example it expired while the page sat open), it is
// signed afresh once.

import { html, useState, useEffect } from '../vendor/htm-preact/standalone.module.js';
import { signedUrl, forgetSignedUrl } from './commands.js';

export function SignedImg({ src, ...props }) {
  const [url, setUrl] = useState(null);
  const [retried, setRetried] = useState(false);

  useEffect(() => {
    let live = true;
    setUrl(null);
    setRetried(false);
    signedUrl(src)
      .then((u) => live && setUrl(u))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [src]);

  const onError = () => {
    if (retried || !url) return;
    setRetried(true);
    forgetSignedUrl(src);
    signedUrl(src)
      .then(setUrl)
      .catch(() => {});
  };

  return html`<img ...${props} src=${url || undefined} onError=${onError} />`;
}
