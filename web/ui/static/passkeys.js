// Passkeys (WebAuthn) for Sesame's pages. A static file: the pages carry
// no inline script (Content-Security-Policy script-src 'self'). Buttons
// with data-passkey stay hidden without JavaScript or WebAuthn support;
// everything else on the pages works without this file.
(function () {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  function toBuf(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) {
      s += '=';
    }
    var b = atob(s), u = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) {
      u[i] = b.charCodeAt(i);
    }
    return u.buffer;
  }
  function toB64(buf) {
    var u = new Uint8Array(buf), s = '';
    for (var i = 0; i < u.length; i++) {
      s += String.fromCharCode(u[i]);
    }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) {
          throw new Error(j.error_description || 'The passkey was not accepted.');
        }
        return j;
      });
    });
  }
  function creation(o) {
    var p = o.publicKey;
    p.challenge = toBuf(p.challenge);
    p.user.id = toBuf(p.user.id);
    (p.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return o;
  }
  function request(o) {
    var p = o.publicKey;
    p.challenge = toBuf(p.challenge);
    (p.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return {publicKey: p};
  }
  function encode(cred) {
    var r = cred.response;
    var out = {id: cred.id, rawId: toB64(cred.rawId), type: cred.type, response: {clientDataJSON: toB64(r.clientDataJSON)}};
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64(r.userHandle);
      }
    }
    out.clientExtensionResults = cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
    return out;
  }
  function status(btn, msg) {
    var el = document.getElementById(btn.getAttribute('data-status'));
    if (el) {
      el.textContent = msg;
      el.hidden = !msg;
    }
  }
  document.querySelectorAll('[data-passkey]').forEach(function (btn) {
    var box = btn.closest('[data-passkey-box]');
    if (box) {
      box.hidden = false;
    }
    btn.hidden = false;
    btn.addEventListener('click', function (ev) {
      ev.preventDefault();
      var mode = btn.getAttribute('data-passkey'), csrf = btn.getAttribute('data-csrf');
      var nameID = btn.getAttribute('data-name'), input = nameID ? document.getElementById(nameID) : null;
      status(btn, '');
      btn.disabled = true;
      post(btn.getAttribute('data-begin'), csrf).then(function (b) {
        var p = mode === 'register' ? navigator.credentials.create(creation(b.options)) : navigator.credentials.get(request(b.options));
        return p.then(function (cred) {
          return post(btn.getAttribute('data-finish'), csrf, {ticket: b.ticket, credential: encode(cred), name: input ? input.value : ''});
        });
      }).then(function (done) {
        window.location.assign(done.redirect);
      }).catch(function (err) {
        btn.disabled = false;
        status(btn, err && err.message ? err.message : 'The passkey was not accepted.');
      });
    });
  });
})();
