"""The service layer: one function per use case, the only way to change state.

Each function validates against the catalog, authorizes the actor, changes the rows, writes the audit event and
commits, in one transaction. The API, the portal, the CLI, the flows, the demo and the benchmarks all call these;
none of them writes to the store on its own."""
