"""HTTP entry points: parse the request, call a handler, render the result. No rules live here."""
