"""The service layer: one function per use case, the only way to change state.

Each function validates against the catalog, authorizes the actor, changes the rows, writes the audit event and
commits, in one transaction. The API, the portal, the CLI, the flows, the demo and the benchmarks all call these;
none of them writes to the store on its own.

Three rooms: the modules here are the commands (and the read functions next to the rows they guard);
`services.queries` holds the read models built for pages and lists; `services.adapters` the counterparts outside
(the registry, the identity provider, the departments' systems)."""
