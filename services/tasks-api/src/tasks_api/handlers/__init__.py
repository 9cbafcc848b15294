"""Use cases: one plain async function per operation, taking a Tx (or session) and the acting user."""
