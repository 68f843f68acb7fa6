// response_mode=form_post for Sesame's pages (OAuth 2.0 Form Post Response
// Mode): submits the authorization response form to the app as soon as
// the page is parsed. A static file: the pages carry no inline script
// (Content-Security-Policy script-src 'self'). Without JavaScript the
// page's Continue button does the same.
(function () {
  'use strict';
  var form = document.querySelector('form[data-autosubmit]');
  if (form) {
    form.submit();
  }
})();
