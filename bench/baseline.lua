-- GET /healthz: Django's handler and middleware plus one SELECT 1, no ORM, no auth.
-- The framework's floor on this machine, to read the API figures against.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")

function done(summary, latency, requests)
  common.report("baseline", summary, latency, {})
end
