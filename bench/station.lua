-- GET the receiving station's pages as the demo's warehouse person (BENCH_PORTAL_PAGE picks):
--   station_scan    /<lang>/staff/<store>/warehouse/?code=<tracking>   the lookup → 302
--   station_return  /<lang>/staff/<store>/warehouse/returns/<number>/  the return's page → 200
-- Requests alternate ar and en; each sends one of bench/station_seed.py's signed-in session
-- cookies (station_sessions.txt) and a parcel of the demo's returns (station_codes.txt).
-- Every request is built once in init(). BENCH_CHECK=1 counts (and prints the first)
-- answers other than the one expected. BENCH_THINK_MS="lo-hi": each connection is a person
-- at a station, handling a parcel for lo..hi ms before the next scan (unset: closed loop).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")

local threads = {}
local page, expected
local by_lang = {}
counter = 0

local LANGS = { "ar", "en" }
local ACCEPT_LANGUAGE = { ar = "ar-SA,ar;q=0.9,en;q=0.8", en = "en-US,en;q=0.9,ar;q=0.5" }

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  page = common.env("BENCH_PORTAL_PAGE")
  expected = page == "station_scan" and 302 or 200
  local work = common.env("BENCH_WORK")
  local env = common.read_env(work .. "/station_env")
  local sessions = common.read_lines(work .. "/station_sessions.txt")
  local parcels = common.read_lines(work .. "/station_codes.txt")
  local host = wrk.headers["Host"]
  for _, lang in ipairs(LANGS) do
    local base = "/" .. lang .. "/staff/" .. env.store .. "/warehouse/"
    local list = {}
    for i, line in ipairs(parcels) do
      local tracking, number = line:match("^([^,]+),(.*)$")
      local path
      if page == "station_scan" then
        path = base .. "?code=" .. tracking
      elseif page == "station_return" then
        path = base .. "returns/" .. number .. "/"
      else
        error("unknown BENCH_PORTAL_PAGE " .. page)
      end
      list[#list + 1] = wrk.format("GET", path, {
        Host = host,
        Accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ["Accept-Language"] = ACCEPT_LANGUAGE[lang],
        Cookie = env.session_cookie .. "=" .. sessions[(i % #sessions) + 1],
      })
    end
    assert(#list > 0, "no requests for " .. page)
    by_lang[lang] = list
  end
  math.randomseed(os.time() + id * 7919)
end

delay = common.think_delay()

function request()
  counter = counter + 1
  local list = by_lang[LANGS[counter % 2 + 1]]
  return list[math.random(#list)]
end

if os.getenv("BENCH_CHECK") == "1" then
  non_2xx, shown = 0, 0
  function response(status, headers, body)
    if status ~= expected then
      non_2xx = non_2xx + 1
      if shown < 3 then
        shown = shown + 1
        io.stderr:write(page .. ": HTTP " .. status .. " " .. body:sub(1, 300) .. "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local unexpected = 0
  for _, t in ipairs(threads) do unexpected = unexpected + (t:get("non_2xx") or 0) end
  common.report(common.env("BENCH_PORTAL_PAGE"), summary, latency, {
    -- Here: answers other than the expected one (302 for a scan, 200 for a return's page).
    non_2xx_counted = os.getenv("BENCH_CHECK") == "1" and tostring(unexpected) or "null",
  })
end
