// GraphiQL with the explorer plugin, against this page's own /graphql. A file, not an inline
// script: the page's Content-Security-Policy allows scripts from the service only.
// URL parameters: q (the query), variables, headers (JSON, e.g. {"Authorization": "Bearer ..."}).
// Subscriptions go over a WebSocket (graphql-transport-ws, the graphql-ws library), with the Headers
// tab's Authorization sent in connection_init (docs/live-updates.md); everything else over HTTP.
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

  const url = window.location.href.split("?")[0];
  const httpFetcher = GraphiQL.createFetcher({ url: url });
  const socketUrl = url.replace(/^http/, "ws");

  // Whether the operation GraphiQL runs is a subscription: the named one, else the document's first.
  function isSubscription(params) {
    const text = params.query.replace(/#[^\n]*/g, "");
    const name = params.operationName;
    const pattern = name
      ? new RegExp("\\b(query|mutation|subscription)\\s+" + name + "\\b")
      : /(?:^|[\s}])(query|mutation|subscription)\b|^\s*\{/;
    const found = text.match(pattern);
    return Boolean(found && found[1] === "subscription");
  }

  // One connection per subscription run: its token is the Headers tab's at the time it starts.
  function subscribe(params, options) {
    const headers = (options && options.headers) || {};
    const authorization = headers.Authorization || headers.authorization;
    const client = graphqlWs.createClient({
      url: socketUrl,
      connectionParams: authorization ? { Authorization: authorization } : {},
      retryAttempts: 0,
    });
    const events = client.iterate({
      query: params.query,
      variables: params.variables,
      operationName: params.operationName,
    });
    return {
      [Symbol.asyncIterator]: function () {
        return {
          next: function () { return events.next(); },
          return: function () {
            const done = events.return ? events.return() : Promise.resolve({ done: true });
            client.dispose();
            return done;
          },
        };
      },
    };
  }

  function fetcher(params, options) {
    return isSubscription(params) ? subscribe(params, options) : httpFetcher(params, options);
  }
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
