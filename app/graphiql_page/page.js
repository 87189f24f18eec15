// GraphiQL with the explorer plugin, against this page's own /graphql. A file, not an inline
// script: the page's Content-Security-Policy allows scripts from the service only.
// URL parameters: q (the query), variables, headers (JSON, e.g. {"Authorization": "Bearer ..."}).
(function () {
  "use strict";

  const WELCOME = [
    "# GraphiQL for shelcaster-channels, served by the service itself (works offline).",
    "#",
    "# Paste the admin header that `shelcaster-channels serve` printed into the Headers tab,",
    "# then run (Ctrl-Enter):",
    "",
    "{",
    "  capacity {",
    "    limit",
    "    used",
    "    available",
    "  }",
    "}",
    "",
  ].join("\n");

  const parameters = Object.fromEntries(new URLSearchParams(window.location.search));

  function updateURL(data) {
    Object.assign(parameters, data);
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(parameters)) {
      if (value) search.set(key, value);
    }
    history.replaceState(null, "", "?" + search.toString());
  }

  const fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  function Page() {
    const [query, setQuery] = React.useState(parameters.q || WELCOME);
    const [variables, setVariables] = React.useState(parameters.variables);
    const [headers, setHeaders] = React.useState(parameters.headers);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      query: query,
      variables: variables,
      headers: headers,
      onEditQuery: function (value) {
        setQuery(value);
        updateURL({ q: value });
      },
      onEditVariables: function (value) {
        setVariables(value);
        updateURL({ variables: value });
      },
      onEditHeaders: setHeaders,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
