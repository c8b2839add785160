// Starts Swagger UI on /docs (a file of its own: the page's content security policy runs no
// inline script). The page names the OpenAPI document and the OAuth2 redirect in data-*.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    persistAuthorization: true,
    // No badge from the public validator: nothing leaves this origin.
    validatorUrl: null,
    oauth2RedirectUrl: new URL(node.dataset.oauth2RedirectUrl, window.location.href).href,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
