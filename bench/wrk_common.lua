-- Shared by the wrk scripts: reading the seeder's files and reporting a run as one JSON line.
-- wrk runs every script in one Lua state per thread plus one for setup/done; nothing here
-- keeps state across those.
local M = {}

function M.read_lines(path)
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  local lines = {}
  for line in f:lines() do
    if line ~= "" then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error("set " .. name) end
    return default
  end
  return v
end

-- A file of key=value lines (bench/portal_seed.py's portal_env) as a table.
function M.read_env(path)
  local t = {}
  for _, line in ipairs(M.read_lines(path)) do
    local k, v = line:match("^([^=]+)=(.*)$")
    if k then t[k] = v end
  end
  return t
end

-- Adds the API key and JSON headers to wrk.headers (keeping the Host header wrk put there).
function M.set_headers(content_type)
  local key = M.read_lines(M.env("BENCH_WORK") .. "/api_key")[1]
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Accept"] = "application/json"
  if content_type then wrk.headers["Content-Type"] = "application/json" end
end

-- One JSON line (prefix BENCH_JSON) with totals, errors and latency percentiles (in µs).
-- wrk counts a response with status > 399 in errors.status; `non_2xx` adds the 3xx the
-- scripts count themselves when BENCH_CHECK is set.
-- BENCH_THINK_MS="lo-hi": a person at each connection, pausing a random lo..hi ms before the
-- next request; the function to assign to wrk's global ``delay``, or nil (closed loop).
function M.think_delay()
  local lo, hi = (os.getenv("BENCH_THINK_MS") or "0"):match("^(%d+)-(%d+)$")
  if not lo then return nil end
  lo, hi = tonumber(lo), tonumber(hi)
  return function() return math.random(lo, hi) end
end

function M.report(scenario, summary, latency, extra)
  local e = summary.errors
  local fields = {
    string.format('"scenario":"%s"', scenario),
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"bytes":%d', summary.bytes),
    string.format('"rps":%.1f', summary.requests / (summary.duration / 1e6)),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
      e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d,"max":%d}',
      latency.min, latency.mean, latency.stdev, latency:percentile(50), latency:percentile(90),
      latency:percentile(95), latency:percentile(99), latency:percentile(99.9), latency.max),
  }
  for k, v in pairs(extra or {}) do
    fields[#fields + 1] = string.format('"%s":%s', k, v)
  end
  io.write("BENCH_JSON {" .. table.concat(fields, ",") .. "}\n")
end

return M
