// Starts ReDoc on /redoc (a file of its own: the page's content security policy runs no inline
// script). The page names the OpenAPI document in data-openapi-url.
(function () {
  "use strict";
  var node = document.getElementById("redoc");
  Redoc.init(node.dataset.openapiUrl, { hideDownloadButton: false }, node);
})();
