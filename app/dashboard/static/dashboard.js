// The dashboard's only code. It reads the public API, exactly as a dashboard built elsewhere would:
// every figure shown comes from a /v1 response, unchanged; the page does no arithmetic on rates
// (re-aggregating rates is wrong), only formats them and compares them with the year's targets.
"use strict";

(() => {
  // Relative to /dashboard, so the page keeps working behind a reverse proxy that adds a path prefix.
  const API = "v1/";
  const PAGE_SIZE = 25;
  const ETAG_ENTRIES = 60;

  // ---------------------------------------------------------------- formatting

  const numberFmt = new Intl.NumberFormat("vi-VN");
  const pctFmt = new Intl.NumberFormat("vi-VN", {
    style: "percent",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const pct0Fmt = new Intl.NumberFormat("vi-VN", { style: "percent", maximumFractionDigits: 2 });

  // Truncated, not rounded: 94.96 % shown as "95.0 %" next to a failed ">= 95 %" target would contradict
  // the colour. The epsilon absorbs binary noise (0.29 * 1000 = 289.99999999999994).
  function pct(x) {
    if (x === null || x === undefined) return "—";
    return pctFmt.format(Math.floor(x * 1000 + 1e-9) / 1000);
  }
  const num = (n) => (n === null || n === undefined ? "—" : numberFmt.format(n));
  const dmy = (iso) => (iso ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "—");
  // Timestamps arrive in Vietnam local time with their offset: the wall-clock part is what to show.
  const dmyhm = (iso) => (iso ? `${dmy(iso.slice(0, 10))} ${iso.slice(11, 16)}` : "—");

  const COMPARATOR_TEXT = { ">=": "≥", ">": ">", "=": "=" };

  function thresholdText(target) {
    const value = target.name === "pending_overdue" ? num(target.threshold) : pct0Fmt.format(target.threshold);
    return `${COMPARATOR_TEXT[target.comparator]} ${value}`;
  }

  function passes(value, comparator, threshold) {
    if (value === null || value === undefined) return null;
    if (comparator === ">=") return value >= threshold;
    if (comparator === ">") return value > threshold;
    return value === threshold;
  }

  // ---------------------------------------------------------------- DOM helpers

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.dataset[camel(k.slice(5))] = String(v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function camel(s) {
    return s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  }

  // The SVG namespace name, taken from the HTML parser so that the page's files hold no URL at all
  // (a test checks that nothing here points outside the service).
  const SVG_NS = new DOMParser().parseFromString("<svg></svg>", "text/html").querySelector("svg").namespaceURI;
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const srOnly = (text) => el("span", { class: "sr-only", text });

  // ---------------------------------------------------------------- the API, with ETags

  const etags = new Map(); // url -> {etag, body}; the last answer per URL, sent back as If-None-Match
  let notModified = 0;
  let callLog = [];
  let token = sessionStorage.getItem("tthc-read-token") || "";

  class AuthNeeded extends Error {
    constructor(message, detail, status) {
      super(message);
      this.detail = detail || "";
      this.status = status;
    }
  }

  function apiUrl(path, params) {
    const qs = params ? params.toString() : "";
    return API + path + (qs ? `?${qs}` : "");
  }

  // `bearer`: a token for this call instead of the page's read token (the feed's quality).
  async function getJSON(url, bearer) {
    const cached = etags.get(url);
    const headers = { Accept: "application/json" };
    if (cached) headers["If-None-Match"] = cached.etag;
    const auth = bearer === undefined ? token : bearer;
    if (auth) headers.Authorization = `Bearer ${auth}`;
    const started = performance.now();
    // no-store: the page keeps the tags itself, so it sees the 304 and knows the body is still valid.
    const res = await fetch(url, { headers, cache: "no-store" });
    callLog.push({ url, status: res.status, ms: Math.round(performance.now() - started) });
    if (res.status === 304 && cached) {
      notModified += 1;
      document.body.dataset.notModified = String(notModified);
      etags.delete(url);
      etags.set(url, cached); // most recently used last
      return cached.body;
    }
    if (res.status === 401 || res.status === 403) {
      const problem = await res.json().catch(() => ({}));
      const why = token
        ? "Mã truy cập không được chấp nhận (không hợp lệ, hết hạn hoặc không có quyền đọc)."
        : "Máy chủ yêu cầu mã truy cập có quyền đọc để xem số liệu.";
      throw new AuthNeeded(problem.detail ? `${why} (${problem.detail})` : why, problem.detail, res.status);
    }
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      throw new Error(problem.detail || `${res.status} ${res.statusText}`);
    }
    const body = await res.json();
    const etag = res.headers.get("ETag");
    if (etag) {
      etags.delete(url);
      etags.set(url, { etag, body });
      if (etags.size > ETAG_ENTRIES) etags.delete(etags.keys().next().value);
    }
    return body;
  }

  // ---------------------------------------------------------------- the view's state and its URL

  const thisYear = Number(
    new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Ho_Chi_Minh", year: "numeric" }).format(new Date()),
  );

  // Without a period in the URL the page shows a whole year: the latest calendar year that has
  // dossiers (the current one when it has), found once at start (latestDataYear).
  let defaultYear = thisYear;

  function stateFromUrl() {
    const q = new URLSearchParams(location.search);
    const s = { kind: "year", year: defaultYear, month: 1, quarter: 1, half: 1, basis: "calendar" };
    const m = /^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4])|-H([12]))?$/.exec(q.get("period") || "");
    if (m) {
      s.year = Number(m[1]);
      if (m[2]) Object.assign(s, { kind: "month", month: Number(m[2]) });
      else if (m[3]) Object.assign(s, { kind: "quarter", quarter: Number(m[3]) });
      else if (m[4]) Object.assign(s, { kind: "half", half: Number(m[4]) });
    }
    if (q.get("basis") === "reporting") s.basis = "reporting";
    s.agency = q.get("agency") || "";
    s.commune = q.get("commune") || "";
    s.sector = q.get("sector") || "";
    return s;
  }

  function periodLabel(s) {
    if (s.kind === "month") return `${s.year}-${String(s.month).padStart(2, "0")}`;
    if (s.kind === "quarter") return `${s.year}-Q${s.quarter}`;
    if (s.kind === "half") return `${s.year}-H${s.half}`;
    return String(s.year);
  }

  const ROMAN = ["", "I", "II", "III", "IV"];
  function periodName(s) {
    if (s.kind === "month") return `tháng ${s.month}/${s.year}`;
    if (s.kind === "quarter") return `quý ${ROMAN[s.quarter]}/${s.year}`;
    if (s.kind === "half") return `${s.half === 1 ? "6 tháng đầu năm" : "6 tháng cuối năm"} ${s.year}`;
    return `năm ${s.year}`;
  }

  function urlFromState(s) {
    const q = new URLSearchParams({ period: periodLabel(s), basis: s.basis });
    for (const dim of ["agency", "commune", "sector"]) if (s[dim]) q.set(dim, s[dim]);
    return `${location.pathname}?${q}`;
  }

  // The optional filters, in one fixed order so the same view always asks the same URLs (and ETags match).
  function filterParams(s, extra) {
    const q = new URLSearchParams();
    const dims = { agency: s.agency, commune: s.commune, sector: s.sector, ...(extra || {}) };
    for (const dim of ["agency", "commune", "sector"]) if (dims[dim]) q.append(dim, dims[dim]);
    return q;
  }

  function reportParams(s, unit, format) {
    const q = new URLSearchParams({ period: periodLabel(s), basis: s.basis, unit, format });
    for (const [k, v] of filterParams(s)) q.append(k, v);
    return q;
  }

  // ---------------------------------------------------------------- reference data (once)

  const ref = { agencies: new Map(), communes: new Map(), sectors: new Map(), rates: new Map(), counts: new Map() };

  async function loadReference() {
    const [defs, communes, agencies] = await Promise.all([
      getJSON(apiUrl("metrics/definitions")),
      getJSON(apiUrl("communes")),
      getJSON(apiUrl("agencies")),
    ]);
    for (const d of defs.rates) ref.rates.set(d.name, d);
    for (const d of defs.counts) ref.counts.set(d.name, d);
    for (const c of communes.items) ref.communes.set(c.code, c.name);
    for (const a of agencies) ref.agencies.set(a.code, a.name);
    $("province-name").textContent = `— ${communes.province_name}`;

    const agencySelect = $("agency");
    const groups = [
      ["Sở, ban, ngành", agencies.filter((a) => a.level === "province")],
      ["UBND xã, phường", agencies.filter((a) => a.level === "commune")],
    ];
    for (const [label, list] of groups) {
      const g = el("optgroup", { label });
      for (const a of list.sort((x, y) => x.name.localeCompare(y.name, "vi"))) {
        g.append(el("option", { value: a.code, text: a.name }));
      }
      agencySelect.append(g);
    }
    const communeSelect = $("commune");
    const sorted = [...communes.items].sort((x, y) => x.name.localeCompare(y.name, "vi"));
    communeSelect.append(...sorted.map((c) => el("option", { value: c.code, text: c.name })));
  }

  // Sectors have no registry: the select learns them from the sector report of each period viewed.
  function learnSectors(rows, selected) {
    for (const r of rows) if (r.sector) ref.sectors.set(r.sector, r.sector_name || r.sector);
    if (selected && !ref.sectors.has(selected)) ref.sectors.set(selected, selected);
    const select = $("sector");
    const keep = select.value || selected;
    select.replaceChildren(el("option", { value: "", text: "Tất cả lĩnh vực" }));
    const entries = [...ref.sectors].sort((a, b) => a[1].localeCompare(b[1], "vi"));
    select.append(...entries.map(([code, name]) => el("option", { value: code, text: name })));
    select.value = keep;
  }

  const unitName = {
    agency: (code) => ref.agencies.get(code) || code,
    commune: (code) => (code === null ? "Không gắn xã, phường" : ref.communes.get(code) || code),
    sector: (code) => (code === null ? "Chưa phân lĩnh vực" : ref.sectors.get(code) || code),
  };

  // ---------------------------------------------------------------- the form

  function fillForm(s) {
    const years = new Set([s.year]);
    for (let y = thisYear; y >= thisYear - 5; y -= 1) years.add(y);
    $("year").replaceChildren(
      ...[...years].sort((a, b) => b - a).map((y) => el("option", { value: y, text: y })),
    );
    if (!$("month").options.length) {
      for (let m = 1; m <= 12; m += 1) $("month").append(el("option", { value: m, text: `Tháng ${m}` }));
    }
    $("kind").value = s.kind;
    $("year").value = String(s.year);
    $("month").value = String(s.month);
    $("quarter").value = String(s.quarter);
    $("half").value = String(s.half);
    for (const r of document.querySelectorAll('input[name="basis"]')) r.checked = r.value === s.basis;
    for (const dim of ["agency", "commune", "sector"]) {
      const select = $(dim);
      if (s[dim] && ![...select.options].some((o) => o.value === s[dim])) {
        select.append(el("option", { value: s[dim], text: s[dim] }));
      }
      select.value = s[dim];
    }
    showKindFields();
  }

  function showKindFields() {
    const kind = $("kind").value;
    $("month-field").hidden = kind !== "month";
    $("quarter-field").hidden = kind !== "quarter";
    $("half-field").hidden = kind !== "half";
  }

  function stateFromForm() {
    return {
      kind: $("kind").value,
      year: Number($("year").value),
      month: Number($("month").value),
      quarter: Number($("quarter").value),
      half: Number($("half").value),
      basis: document.querySelector('input[name="basis"]:checked').value,
      agency: $("agency").value,
      commune: $("commune").value,
      sector: $("sector").value,
    };
  }

  // ---------------------------------------------------------------- loading a view

  let view = null; // the state whose figures are on screen
  let loadSeq = 0;

  async function load(s) {
    const seq = ++loadSeq;
    callLog = [];
    document.body.dataset.state = "loading";
    $("main").setAttribute("aria-busy", "true");
    $("status").textContent = `Đang tải số liệu ${periodName(s)}…`;
    $("error").hidden = true;
    try {
      const year = s.year;
      // The report fixes the period's dates (reporting cut-off or calendar), so the page never
      // re-implements the cut-off rules; everything else is asked for those dates.
      const [byAgency, targets, closings] = await Promise.all([
        getJSON(apiUrl("reports/dossier-processing", reportParams(s, "agency", "json"))),
        getJSON(apiUrl("targets", new URLSearchParams({ year }))),
        getJSON(apiUrl("reports/dossier-processing/closings", closingsParams(s))),
      ]);
      const { from, to } = byAgency;
      const range = new URLSearchParams({ from, to });
      const trendFrom = monthsBefore(to, 11);
      const trendQuery = new URLSearchParams({ from: trendFrom, to, group_by: "month" });
      for (const [k, v] of filterParams(s)) trendQuery.append(k, v);
      const [byCommune, bySector, trend, scoreAgency, scoreCommune] = await Promise.all([
        getJSON(apiUrl("reports/dossier-processing", reportParams(s, "commune", "json"))),
        getJSON(apiUrl("reports/dossier-processing", reportParams(s, "sector", "json"))),
        getJSON(apiUrl("metrics", trendQuery)),
        getJSON(apiUrl("scorecard", new URLSearchParams([["unit", "agency"], ...range]))),
        getJSON(apiUrl("scorecard", new URLSearchParams([["unit", "commune"], ...range]))),
      ]);
      if (seq !== loadSeq) return; // a newer choice was made meanwhile
      view = { ...s, from, to };
      learnSectors(bySector.rows, s.sector);
      const byName = new Map(targets.targets.map((t) => [t.name, t]));
      renderHeader(s, byAgency);
      renderTiles(s, byAgency.totals, byName);
      renderTrend(trend, byName, trendFrom, to);
      renderRanking("agency", scoreAgency, targets.targets, s);
      renderRanking("commune", scoreCommune, targets.targets, s);
      showCurrentUnit(s);
      $("rank-note").textContent =
        `Toàn tỉnh, kỳ ${dmy(from)} – ${dmy(to)}, theo chỉ tiêu năm ${scoreAgency.targets_year}. ` +
        "Bộ lọc không áp dụng cho bảng xếp hạng; đơn vị đang lọc được tô đậm. " +
        "Bấm vào tiêu đề cột để sắp xếp.";
      const overdueTarget = byName.get("pending_overdue");
      $("backlog-note").textContent =
        `Tính đến hết ngày ${dmy(to)} (hoặc đến hiện tại nếu kỳ chưa kết thúc)` +
        (overdueTarget ? `; chỉ tiêu số hồ sơ quá hạn ${thresholdText(overdueTarget)}. ` : ". ") +
        "Bấm vào một con số để xem danh sách hồ sơ.";
      renderBacklog("agency", byAgency, s);
      renderBacklog("commune", byCommune, s);
      renderBacklog("sector", bySector, s);
      renderDownloads(s);
      // The restatement, when the view is closed, has its own state (data-state on its section).
      renderClosings(s, closings, byAgency);
      renderCalls();
      closeDrill(false);
      closeWorklist(false);
      // The worklists and the feed's quality have their own states (data-state on their sections).
      loadWorklists(s);
      loadFeed(s);
      // The index has its own state (data-state on its section): a failure there leaves the rest shown.
      loadIndex(s);
      $("status").textContent = `Đã cập nhật số liệu ${periodName(s)}.`;
      Object.assign(document.body.dataset, { state: "ready", period: periodLabel(s), from, to });
    } catch (err) {
      if (seq !== loadSeq) return;
      document.body.dataset.state = "error";
      $("status").textContent = "";
      $("period-text").textContent = `Chưa tải được số liệu ${periodName(s)}.`;
      if (err instanceof AuthNeeded) {
        $("token-why").textContent = err.message;
        $("token-box").hidden = false;
        $("token").focus();
      } else {
        $("error").textContent = `Không tải được số liệu: ${err.message}`;
        $("error").hidden = false;
      }
      renderCalls();
    } finally {
      if (seq === loadSeq) $("main").removeAttribute("aria-busy");
    }
  }

  // The first day of the calendar month `n` months before the month of an ISO date.
  function monthsBefore(iso, n) {
    const y = Number(iso.slice(0, 4));
    const m = Number(iso.slice(5, 7)) - 1 - n;
    const year = y + Math.floor(m / 12);
    const month = ((m % 12) + 12) % 12;
    return `${year}-${String(month + 1).padStart(2, "0")}-01`;
  }

  function filterText(s) {
    const parts = [];
    if (s.agency) parts.push(unitName.agency(s.agency));
    if (s.commune) parts.push(unitName.commune(s.commune));
    if (s.sector) parts.push(`lĩnh vực ${unitName.sector(s.sector)}`);
    return parts.length ? `(lọc: ${parts.join(" · ")})` : "(toàn tỉnh)";
  }

  function renderHeader(s, report) {
    const basis = s.basis === "reporting" ? "kỳ báo cáo" : "theo lịch";
    $("period-text").textContent =
      `Số liệu ${periodName(s)} (${basis}): ${dmy(report.from)} – ${dmy(report.to)} ${filterText(s)}`;
    $("tiles-scope").textContent = filterText(s);
    const asOf = report.data_as_of;
    $("as-of").textContent = asOf
      ? `Dữ liệu cập nhật lần cuối lúc ${asOf.slice(11, 16)} ngày ${dmy(asOf.slice(0, 10))}.`
      : "Chưa có dữ liệu.";
  }

  // ---------------------------------------------------------------- tiles

  const TILES = [
    { rate: "on_time", target: "on_time" },
    { rate: "online", target: "online" },
    { rate: "online_payment" },
    { rate: "intake_digitisation" },
    { rate: "result_digitisation" },
    { rate: "apology", target: "apology" },
    { rate: "satisfaction", target: "satisfaction" },
  ];

  // A rate's numerator and denominator come as terms in its definition (numerator_terms,
  // denominator_terms): counts, each added (sign 1) or subtracted (sign -1).
  function sumTerms(terms, counts) {
    let total = 0;
    for (const t of terms) total += t.sign * counts[t.count];
    return total;
  }

  function termsText(terms) {
    return terms
      .map((t, i) => {
        const label = (ref.counts.get(t.count)?.label_vi ?? t.count).toLowerCase();
        const op = t.sign < 0 ? "-" : "+";
        return i === 0 ? (t.sign < 0 ? `${op} ${label}` : label) : `${op} ${label}`;
      })
      .join(" ");
  }

  function renderTiles(s, totals, targets) {
    const box = $("tiles");
    box.replaceChildren();
    for (const tile of TILES) {
      const def = ref.rates.get(tile.rate);
      const value = totals.rates[tile.rate];
      const numerator = sumTerms(def.numerator_terms, totals.counts);
      const denominator = sumTerms(def.denominator_terms, totals.counts);
      const target = tile.target ? targets.get(tile.target) : null;
      const passed = target ? passes(value, target.comparator, target.threshold) : null;
      const status = !target ? "none" : passed === null ? "nodata" : passed ? "pass" : "fail";
      const statusText = {
        pass: "✓ Đạt chỉ tiêu",
        fail: "✗ Chưa đạt chỉ tiêu",
        nodata: "Chưa có số liệu để đánh giá",
        none: "Không có chỉ tiêu",
      }[status];
      const fraction = `Tử số: ${termsText(def.numerator_terms)} = ${num(numerator)}. Mẫu số: ${termsText(
        def.denominator_terms,
      )} = ${num(denominator)}.`;
      const detailId = `tile-${tile.rate}-detail`;
      box.append(
        el(
          "div",
          {
            // A rate without a target is neither passed nor failed: a neutral tile, not a grey one.
            class: `tile ${status === "none" ? "neutral" : status}`,
            tabindex: 0,
            role: "group",
            title: fraction,
            "aria-labelledby": `tile-${tile.rate}-label`,
            "aria-describedby": detailId,
            "data-rate": tile.rate,
            "data-value": value === null ? "null" : String(value),
            "data-numerator": numerator,
            "data-denominator": denominator,
            "data-passed": target ? String(passed) : "none",
          },
          el("p", { class: "tile-label", id: `tile-${tile.rate}-label`, text: def.label_vi }),
          el("p", { class: "tile-value", text: pct(value) }),
          el(
            "p",
            { class: "tile-target" },
            target ? `Chỉ tiêu ${thresholdText(target)}` : null,
            el("span", { class: "badge", text: statusText }),
          ),
          el(
            "p",
            { class: "tile-fraction" },
            el("span", { class: "fraction-label", text: "Tử số / mẫu số" }),
            el("span", { class: "fraction", text: `${num(numerator)} / ${num(denominator)}` }),
          ),
          // What the two numbers count: on hover (title) and, for the keyboard, shown while focused.
          el("div", { class: "tile-more", id: detailId, text: fraction }),
        ),
      );
    }
  }

  // ---------------------------------------------------------------- trend charts (SVG)

  let lastTrend = null;

  function renderTrend(trend, targets, from, to) {
    lastTrend = { trend, targets, from, to };
    $("trend-range").textContent =
      `Các tháng dương lịch từ ${dmy(from)} đến ${dmy(to)}, cùng bộ lọc; tháng cuối tính đến ngày ${dmy(to)}.`;
    drawChart("on_time", trend.rows, targets.get("on_time"));
    drawChart("online", trend.rows, targets.get("online"));
  }

  function drawChart(rate, rows, target) {
    const fig = $(`chart-${rate}`);
    const def = ref.rates.get(rate);
    const width = Math.max(280, Math.floor(fig.clientWidth || 560));
    const height = 230;
    const pad = { left: 48, right: 12, top: 14, bottom: 30 };
    const points = rows.map((r) => ({
      month: r.month,
      value: r.rates[rate],
      numerator: sumTerms(def.numerator_terms, r.counts),
      denominator: sumTerms(def.denominator_terms, r.counts),
    }));
    const values = points.map((p) => p.value).filter((v) => v !== null);
    if (target) values.push(target.threshold);
    // The axis starts a little below the lowest value (or the target), on a round step, so that
    // months near 95 % are told apart instead of squashed at the top of a 0–100 % axis.
    const low = values.length ? Math.min(...values) : 0;
    const step = 1 - low <= 0.2 ? 0.05 : 1 - low <= 0.45 ? 0.1 : 0.2;
    const lo = Math.max(0, Math.floor((low - 0.02) / step) * step);
    const hi = 1;
    const ticks = [];
    for (let v = lo; v <= hi + 1e-9; v += step) ticks.push(Math.round(v * 100) / 100);
    const x = (i) => pad.left + ((width - pad.left - pad.right) * (i + 0.5)) / Math.max(1, points.length);
    const y = (v) => pad.top + (height - pad.top - pad.bottom) * (1 - (v - lo) / (hi - lo || 1));

    const title = `${def.label_vi} theo tháng`;
    const chart = svg("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `${title}; số liệu chi tiết trong bảng bên dưới biểu đồ.`,
      class: "chart-svg",
    });
    for (const v of ticks) {
      chart.append(
        svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }),
        svg("text", { x: pad.left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, pct0Fmt.format(v)),
      );
    }
    const every = Math.ceil(points.length / Math.max(1, Math.floor((width - pad.left) / 44)));
    points.forEach((p, i) => {
      if ((points.length - 1 - i) % every !== 0) return; // counted from the last month, always labelled
      const [yy, mm] = p.month.split("-");
      chart.append(
        svg(
          "text",
          { x: x(i), y: height - 10, class: "axis", "text-anchor": "middle" },
          `${Number(mm)}/${yy.slice(2)}`,
        ),
      );
    });
    if (target) {
      // Named in the legend below, not on the plot, where a label would sit on top of the points.
      const ty = y(target.threshold);
      chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: ty, y2: ty, class: "target-line" }));
    }
    // One polyline per run of months with data: a month with no data is a gap, not a zero.
    let run = [];
    const flush = () => {
      if (run.length > 1) chart.append(svg("polyline", { points: run.join(" "), class: "series" }));
      run = [];
    };
    points.forEach((p, i) => {
      if (p.value === null) flush();
      else run.push(`${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
    });
    flush();
    points.forEach((p, i) => {
      if (p.value === null) return;
      const ok = target ? passes(p.value, target.comparator, target.threshold) : true;
      chart.append(
        svg(
          "circle",
          {
            cx: x(i),
            cy: y(p.value),
            r: 4.5,
            class: ok ? "point" : "point fail",
            "data-month": p.month,
            "data-value": String(p.value),
          },
          svg("title", {}, `${p.month}: ${pct(p.value)} (${num(p.numerator)}/${num(p.denominator)})`),
        ),
      );
    });

    const table = el(
      "table",
      { class: "data compact" },
      el("caption", { class: "sr-only", text: title }),
      el(
        "thead",
        {},
        el("tr", {}, el("th", { scope: "col", text: "Tháng" }), el("th", { scope: "col", text: "Tỷ lệ" }),
          el("th", { scope: "col", text: "Tử số / mẫu số" })),
      ),
      el(
        "tbody",
        {},
        ...points.map((p) =>
          el(
            "tr",
            { "data-month": p.month, "data-value": p.value === null ? "null" : String(p.value) },
            el("th", { scope: "row", text: `${Number(p.month.slice(5))}/${p.month.slice(0, 4)}` }),
            el("td", { class: "num", text: pct(p.value) }),
            el("td", { class: "num", text: `${num(p.numerator)} / ${num(p.denominator)}` }),
          ),
        ),
      ),
    );
    fig.replaceChildren(
      el("figcaption", {}, title),
      chart,
      el(
        "p",
        { class: "legend" },
        el("span", {}, el("span", { class: "key series-key", "aria-hidden": "true" }), " Tỷ lệ từng tháng"),
        target
          ? el("span", {}, el("span", { class: "key fail-key", "aria-hidden": "true" }), " Tháng chưa đạt")
          : null,
        target
          ? el(
              "span",
              {},
              el("span", { class: "key target-key", "aria-hidden": "true" }),
              ` Chỉ tiêu ${thresholdText(target)}`,
            )
          : null,
      ),
      el("details", {}, el("summary", { text: "Bảng số liệu của biểu đồ" }), el("div", { class: "scroll" }, table)),
    );
  }

  let resizeTimer = 0;
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (lastTrend) renderTrend(lastTrend.trend, lastTrend.targets, lastTrend.from, lastTrend.to);
      if (index.bars) drawIndexBars(index.bars.unit, index.bars.row);
    }, 150);
  });

  // ---------------------------------------------------------------- sortable tables

  // A table whose rows are built once and re-ordered in place when sorted (130 wards stay instant).
  // columns: [{key, label, title?, num?, sortValue(row), cell(row) -> td}]
  function sortableTable({ caption, columns, rows, rowAttrs, initial, footer }) {
    const table = el("table", { class: "data sortable" }, el("caption", { class: "sr-only", text: caption }));
    const headRow = el("tr");
    const sort = { key: initial.key, dir: initial.dir };
    const ths = new Map();
    for (const col of columns) {
      const button = el(
        "button",
        { type: "button", class: "sort", title: col.title || null },
        el("span", { class: "head" }, col.label, el("span", { class: "arrow", "aria-hidden": "true" })),
      );
      if (col.sub) button.append(el("span", { class: "sub", text: col.sub }));
      const th = el("th", { scope: "col", class: col.num ? "num" : null }, button);
      button.addEventListener("click", () => {
        // A new column starts in its natural direction: names A to Z, rank 1 first, figures largest first.
        sort.dir = sort.key === col.key ? -sort.dir : col.firstDir || (col.num ? -1 : 1);
        sort.key = col.key;
        apply();
      });
      ths.set(col.key, th);
      headRow.append(th);
    }
    table.append(el("thead", {}, headRow));
    const tbody = el("tbody");
    const items = rows.map((row) => {
      const tr = el("tr", rowAttrs(row));
      for (const col of columns) tr.append(col.cell(row));
      return { row, tr };
    });
    tbody.append(...items.map((i) => i.tr));
    table.append(tbody);
    if (footer) table.append(el("tfoot", {}, footer));

    function apply() {
      const col = columns.find((c) => c.key === sort.key);
      const sorted = [...items].sort((a, b) => {
        const va = col.sortValue(a.row);
        const vb = col.sortValue(b.row);
        // No data sorts last whichever the direction: an idle unit is never "best" or "worst".
        if (va === null && vb === null) return 0;
        if (va === null) return 1;
        if (vb === null) return -1;
        const c = typeof va === "string" ? va.localeCompare(vb, "vi") : va - vb;
        return sort.dir * c || items.indexOf(a) - items.indexOf(b);
      });
      tbody.append(...sorted.map((i) => i.tr));
      for (const [key, th] of ths) {
        if (key === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
        th.querySelector(".arrow").textContent = key === sort.key ? (sort.dir > 0 ? " ▲" : " ▼") : "";
      }
    }
    apply();
    return { table, items };
  }

  function searchBox(label, items, nameOf) {
    const input = el("input", { type: "search", autocomplete: "off", placeholder: "Gõ tên đơn vị" });
    const count = el("span", { class: "hint", "aria-live": "polite" });
    input.addEventListener("input", () => {
      const needle = fold(input.value.trim());
      let shown = 0;
      for (const { row, tr } of items) {
        const hit = !needle || fold(nameOf(row)).includes(needle);
        tr.hidden = !hit;
        shown += hit;
      }
      count.textContent = needle ? `${shown} đơn vị khớp` : "";
    });
    return el("div", { class: "search" }, el("label", {}, label, " ", input), " ", count);
  }

  // Search without diacritics too: "anh son" finds "Anh Sơn".
  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }

  // ---------------------------------------------------------------- ranking (scorecard)

  const TARGET_SHORT = {
    on_time: "Đúng hạn",
    online: "Trực tuyến",
    satisfaction: "Hài lòng",
    satisfaction_land_construction_investment: "Hài lòng ĐĐ-XD-ĐT",
    apology: "Xin lỗi",
    pending_overdue: "Quá hạn",
  };

  function renderRanking(unit, scorecard, targets, s) {
    const name = (row) => row[`${unit}_name`] || row[unit];
    const columns = [
      { key: "rank", label: "Hạng", num: true, firstDir: 1, sortValue: (r) => r.rank, cell: (r) => el("td", { class: "num", text: r.rank }) },
      {
        key: "name",
        label: unit === "agency" ? "Cơ quan" : "Xã, phường",
        sortValue: (r) => name(r),
        cell: (r) => el("th", { scope: "row", class: "name", text: name(r) }),
      },
      { key: "passed", label: "Đạt", num: true, sortValue: (r) => r.passed, cell: (r) => el("td", { class: "num", text: r.passed }) },
      {
        key: "failed",
        label: "Chưa đạt",
        num: true,
        sortValue: (r) => r.failed,
        cell: (r) => el("td", { class: r.failed ? "num fail-count" : "num", text: r.failed }),
      },
    ];
    targets.forEach((t, index) => {
      columns.push({
        key: t.name,
        label: TARGET_SHORT[t.name] || t.name,
        sub: thresholdText(t),
        title: `${t.label_vi} (chỉ tiêu ${thresholdText(t)})`,
        num: true,
        sortValue: (r) => r.targets[index].value,
        cell: (r) => targetCell(r.targets[index]),
      });
    });
    const current = s[unit];
    const { table, items } = sortableTable({
      caption: `Xếp hạng ${unit === "agency" ? "cơ quan" : "xã, phường"} theo chỉ tiêu`,
      columns,
      rows: scorecard.rows,
      rowAttrs: (r) => ({
        "data-code": r[unit],
        "data-rank": r.rank,
        "data-passed": r.passed,
        "data-failed": r.failed,
        class: r[unit] === current ? "current" : null,
      }),
      initial: { key: "rank", dir: 1 },
    });
    const scroll = el("div", { class: "scroll tall", tabindex: 0, role: "region", "aria-label": table.caption.textContent }, table);
    $(`rank-panel-${unit}`).replaceChildren(searchBox("Tìm đơn vị:", items, name), scroll);
  }

  // With a unit filter, open the ranking on that unit's table and scroll its row into view (inside
  // the table's own box: the page itself does not jump).
  function showCurrentUnit(s) {
    const unit = s.agency ? "agency" : s.commune ? "commune" : null;
    if (!unit) return;
    selectTab($(`rank-tab-${unit}`), false);
    const row = $(`rank-panel-${unit}`).querySelector("tr.current");
    if (!row) return;
    const box = row.closest(".scroll");
    const head = box.querySelector("thead").getBoundingClientRect().height;
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - head - 4;
  }

  function targetCell(t) {
    if (t.value === null) return el("td", { class: "num muted", text: "—", title: "Không có số liệu" });
    const text = t.name === "pending_overdue" ? num(t.value) : pct(t.value);
    const title =
      t.denominator === null ? `${num(t.numerator)} hồ sơ` : `${num(t.numerator)} / ${num(t.denominator)}`;
    if (t.passed === false) {
      return el(
        "td",
        { class: "num fail", title, "data-target": t.name, "data-passed": "false" },
        el("span", { "aria-hidden": "true", text: "✗ " }),
        text,
        srOnly(" (chưa đạt)"),
      );
    }
    return el("td", { class: "num", title, "data-target": t.name, "data-passed": String(t.passed) }, text);
  }

  // ---------------------------------------------------------------- the national index (Decision 766)

  // GET /v1/index takes calendar periods only: a month, a quarter or a year. Its figures are shown as
  // the API gives them (total, rank, group and indicator points); the page only subtracts an
  // indicator's rounded points from its maximum to say how many points it lost.
  const pointsFmt = new Intl.NumberFormat("vi-VN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const maxFmt = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });
  const pts = (x) => (x === null || x === undefined ? "—" : pointsFmt.format(x));

  // The indicators whose lost points are dossiers: GET /v1/dossiers?index_loss= lists them.
  const INDEX_DOSSIER_LOSS = new Set(["2.1", "3.0", "3.6a", "4.1", "4.2", "4.3", "4.4", "4.5a", "5.4"]);
  // What to do about an indicator whose losses are not dossiers (procedures or declared values).
  const INDEX_FIX_NOTE = {
    "1.1": "Công bố thủ tục hành chính đúng hạn.",
    "1.2": "Cập nhật, công khai thủ tục hành chính đúng hạn.",
    "1.3": "Công khai đầy đủ các bộ phận tạo thành của thủ tục hành chính.",
    "1.4": "Đồng bộ đầy đủ trạng thái hồ sơ lên Cổng Dịch vụ công quốc gia.",
    "3.6b": "Phát sinh giao dịch thanh toán trực tuyến ở mọi thủ tục có thu phí, lệ phí đã tiếp nhận hồ sơ.",
    "3.6c": "Tích hợp thanh toán trực tuyến cho các thủ tục có nghĩa vụ tài chính trong danh mục.",
    "4.5b": "Triển khai kết nối, chia sẻ dữ liệu cho các thủ tục hành chính.",
    "4.6": "Cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính.",
    "5.2": "Xử lý phản ánh, kiến nghị đúng hạn.",
    "5.3": "Nâng mức hài lòng trong xử lý phản ánh, kiến nghị.",
  };
  const INDEX_UNIT_TEXT = { province: "toàn tỉnh", agency: "sở, ban, ngành", commune: "UBND xã, phường" };
  // The drill-down's index_reason, in English in the API, said in Vietnamese (the original stays in
  // the cell's title and data-reason).
  const REASON_TEXT = [
    [/^late by less than 1 working day$/, () => "quá hạn chưa đến 1 ngày làm việc"],
    [/^late by (\d+) working days?$/, (m) => `quá hạn ${m[1]} ngày làm việc`],
    [/^second supplement request$/, () => "yêu cầu bổ sung hồ sơ lần thứ hai"],
    [/^no deadline \(unjudged\)$/, () => "không có thời hạn giải quyết (không đánh giá)"],
    [/^uncatalogued procedure$/, () => "thủ tục chưa có trong danh mục"],
    [/^not full-online$/, () => "không thực hiện trực tuyến toàn trình"],
    [/^procedure not eligible for full-online service$/, () => "thủ tục không đủ điều kiện trực tuyến toàn trình"],
    [/^no electronic result, paper result required$/, () => "không cấp kết quả điện tử (thủ tục có kết quả giấy)"],
    [/^no electronic result$/, () => "không cấp kết quả điện tử"],
    [/^procedure requires no paper result$/, () => "thủ tục không có kết quả giấy"],
    [/^not digitised at intake$/, () => "không số hóa khi tiếp nhận"],
    [/^no reuse of digitised data$/, () => "không khai thác lại dữ liệu đã số hóa"],
    [/^not from the personal data store$/, () => "không lấy từ kho dữ liệu cá nhân"],
    [/^no population data$/, () => "không sử dụng dữ liệu dân cư"],
    [/^complaint$/, () => "có phản ánh, kiến nghị"],
    [/^fee not paid online$/, () => "phí, lệ phí không thanh toán trực tuyến"],
  ];

  function reasonText(reason) {
    if (!reason) return "—";
    return reason
      .split("; ")
      .map((part) => {
        for (const [re, say] of REASON_TEXT) {
          const m = re.exec(part);
          if (m) return say(m);
        }
        return part;
      })
      .join("; ");
  }

  // Hundredths of a point lost: whole numbers, so sorting is not upset by binary noise (20 − 19.28).
  const lostCents = (i) => Math.max(0, Math.round((i.max_points - i.points_rounded) * 100));
  const centsText = (c) => pointsFmt.format(c / 100);

  const index = { s: null, label: "", seq: 0, docs: new Map(), selected: new Map(), unit: "province", bars: null };

  function indexPeriodOf(s) {
    if (s.kind === "half") return { none: "half" };
    if (s.basis === "reporting") return { none: "reporting" };
    return { label: periodLabel(s) };
  }

  function showIndexNone(reason, s) {
    const box = $("index-none");
    const section = $("index");
    $("index-body").hidden = true;
    box.hidden = false;
    $("index-note").textContent = "";
    if (reason === "half") {
      box.replaceChildren(
        el("p", {
          text:
            "Chỉ số phục vụ người dân, doanh nghiệp không tính cho kỳ 6 tháng: Bộ chỉ số chỉ đánh giá theo " +
            "tháng, quý hoặc năm dương lịch. Hãy chọn một tháng, một quý hoặc cả năm để xem chỉ số.",
        }),
      );
    } else if (reason === "reporting") {
      const calendar = { ...s, basis: "calendar" };
      box.replaceChildren(
        el("p", {
          text:
            "Chỉ số phục vụ người dân, doanh nghiệp chỉ tính theo kỳ dương lịch (trọn tháng, quý, năm), " +
            "không tính theo kỳ báo cáo từ ngày 15 đến ngày 14, nên không hiển thị số liệu cho cách tính kỳ này. ",
          },
          el("a", { href: urlFromState(calendar), class: "index-calendar", text: `Xem chỉ số ${periodName(s)} theo lịch` }),
        ),
      );
    } else {
      box.replaceChildren(el("p", { text: reason }));
    }
    Object.assign(section.dataset, { state: "none", reason: reason === "half" || reason === "reporting" ? reason : "error" });
  }

  function loadIndex(s) {
    index.s = s;
    index.docs = new Map();
    index.seq += 1;
    const p = indexPeriodOf(s);
    if (p.none) {
      index.label = "";
      showIndexNone(p.none, s);
      return Promise.resolve();
    }
    index.label = p.label;
    $("index-none").hidden = true;
    $("index-body").hidden = false;
    for (const unit of ["province", "agency", "commune"]) $(`index-panel-${unit}`).replaceChildren();
    return showIndexUnit(index.unit);
  }

  async function showIndexUnit(unit) {
    index.unit = unit;
    if (!index.label) return;
    const seq = index.seq;
    const section = $("index");
    const label = index.label;
    let doc = index.docs.get(unit);
    if (!doc) {
      Object.assign(section.dataset, { state: "loading", unit });
      section.setAttribute("aria-busy", "true");
      try {
        doc = await getJSON(apiUrl("index", new URLSearchParams({ period: label, unit })));
      } catch (err) {
        if (seq !== index.seq) return;
        section.removeAttribute("aria-busy");
        const why = /has not begun|not begun/.test(err.message)
          ? `Kỳ ${periodName(index.s)} chưa bắt đầu: chưa có chỉ số.`
          : `Không tải được chỉ số: ${err.message}`;
        $(`index-panel-${unit}`).replaceChildren(el("p", { class: "error", text: why }));
        Object.assign(section.dataset, { state: "error", unit });
        renderCalls();
        return;
      }
      if (seq !== index.seq) return;
      index.docs.set(unit, doc);
      renderIndexPanel(unit, doc);
    } else {
      // Shown again: its bars are redrawn to the width they have now.
      const row = doc.rows.find((r) => r.code === index.selected.get(unit));
      if (row) {
        index.bars = { unit, row };
        drawIndexBars(unit, row);
      }
    }
    if (index.unit !== unit) return;
    section.removeAttribute("aria-busy");
    const rs = doc.rule_set;
    $("index-note").textContent =
      `Kỳ ${periodName(index.s)} (${dmy(doc.start)} – ${dmy(doc.end)}), theo lịch; hồ sơ đang giải quyết được ` +
      `đánh giá tại ${dmyhm(doc.judged_at)}${doc.in_progress ? " (kỳ chưa kết thúc: số liệu tạm tính đến hiện tại)" : ""}. ` +
      `Bộ tiêu chí ${rs.id}. ` +
      (doc.derivation_behind ? "Danh mục hoặc lịch làm việc vừa thay đổi, số liệu đang được tính lại. " : "") +
      "Bấm vào tên một đơn vị để xem điểm từng nhóm và những chỉ số cần khắc phục trước.";
    Object.assign(section.dataset, { state: "ready", unit, period: doc.period });
    renderCalls();
  }

  function renderIndexPanel(unit, doc) {
    const panel = $(`index-panel-${unit}`);
    if (!doc.rows.length) {
      panel.replaceChildren(el("p", { class: "hint", text: "Chưa có đơn vị nào ở cấp này." }));
      return;
    }
    const name = (r) => r.name || r.code;
    const columns = [
      { key: "rank", label: "Hạng", num: true, firstDir: 1, sortValue: (r) => r.rank, cell: (r) => el("td", { class: "num", text: r.rank }) },
      {
        key: "name",
        label: unit === "commune" ? "UBND xã, phường" : unit === "agency" ? "Cơ quan" : "Tỉnh",
        sortValue: name,
        cell: (r) =>
          el(
            "th",
            { scope: "row", class: "name" },
            el("button", { type: "button", class: "pick", "data-code": r.code, "aria-pressed": "false", text: name(r) }),
          ),
      },
      {
        key: "total",
        label: "Tổng điểm",
        sub: "trên 100",
        num: true,
        sortValue: (r) => r.total,
        cell: (r) => el("td", { class: "num strong", text: pts(r.total) }),
      },
      {
        key: "reachable",
        label: "Có thể đạt",
        sub: "nếu khai báo đủ",
        title: "Tổng điểm cộng điểm tối đa của các chỉ số chưa khai báo",
        num: true,
        sortValue: (r) => r.reachable,
        cell: (r) => el("td", { class: "num", text: pts(r.reachable) }),
      },
    ];
    const { table, items } = sortableTable({
      caption: `Chỉ số 766 — ${INDEX_UNIT_TEXT[unit]}, xếp hạng theo tổng điểm`,
      columns,
      rows: doc.rows,
      rowAttrs: (r) => ({ "data-code": r.code, "data-rank": r.rank, "data-total": r.total, "data-reachable": r.reachable }),
      initial: { key: "rank", dir: 1 },
    });
    const scroll = el("div", { class: "scroll tall", tabindex: 0, role: "region", "aria-label": table.caption.textContent }, table);
    const detail = el("div", { class: "index-detail", id: `index-detail-${unit}`, "aria-live": "polite" });
    panel.replaceChildren(
      el(
        "div",
        { class: "index-grid" },
        el("div", { class: "index-list" }, doc.rows.length > 12 ? searchBox("Tìm đơn vị:", items, name) : "", scroll),
        detail,
      ),
      el("div", { class: "index-losses", id: `index-losses-${unit}` }),
    );
    table.addEventListener("click", (e) => {
      const button = e.target.closest("button.pick");
      if (button) selectIndexRow(unit, button.dataset.code, true);
    });
    // The unit chosen before, else the filter's agency when it is listed here, else the first row.
    const wanted = [index.selected.get(unit), index.s && index.s.agency].find((c) => c && doc.rows.some((r) => r.code === c));
    selectIndexRow(unit, wanted || doc.rows[0].code, false);
  }

  function selectIndexRow(unit, code, fromClick) {
    const doc = index.docs.get(unit);
    const row = doc && doc.rows.find((r) => r.code === code);
    if (!row) return;
    index.selected.set(unit, code);
    const panel = $(`index-panel-${unit}`);
    for (const tr of panel.querySelectorAll(".index-list tbody tr")) {
      const on = tr.dataset.code === code;
      tr.classList.toggle("current", on);
      tr.querySelector("button.pick").setAttribute("aria-pressed", String(on));
    }
    renderIndexDetail(unit, doc, row);
    if (fromClick && window.matchMedia("(max-width: 900px)").matches) {
      $(`index-detail-${unit}`).scrollIntoView({ block: "start" });
    }
  }

  function renderIndexDetail(unit, doc, row) {
    const box = $(`index-detail-${unit}`);
    const scoring = row.indicators.filter((i) => i.max_points > 0);
    const unscored = row.indicators.filter((i) => i.max_points === 0);
    const fixes = scoring
      .filter((i) => lostCents(i) > 0)
      .sort((a, b) => lostCents(b) - lostCents(a) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    const who = unit === "province" ? row.name : `${row.name}, hạng ${row.rank}/${doc.rows.length} ${INDEX_UNIT_TEXT[unit]}`;
    const missing = scoring.filter((i) => i.source === "missing");
    const head = el(
      "div",
      { class: "index-head", "data-code": row.code, "data-total": row.total, "data-rank": row.rank },
      el("h3", { id: `index-detail-h-${unit}`, text: who }),
      el(
        "p",
        { class: "index-total" },
        el("span", { class: "big", text: pts(row.total) }),
        " / 100 điểm",
      ),
      el(
        "p",
        { class: "hint" },
        missing.length
          ? `${missing.length} chỉ số chưa khai báo (${missing.map((i) => i.code).join(", ")}) được tính 0 điểm; ` +
              `khai báo đủ thì có thể đạt tới ${pts(row.reachable)} điểm.`
          : "Mọi chỉ số đã có số liệu.",
      ),
    );
    const bars = el("figure", { class: "chart index-bars", id: `index-bars-${unit}` });
    box.replaceChildren(
      head,
      bars,
      el("h4", { text: "Ưu tiên khắc phục" }),
      el(
        "p",
        { class: "hint" },
        "Các chỉ số theo số điểm có thể lấy lại (điểm tối đa trừ điểm đạt được), nhiều nhất trước.",
      ),
      fixList(unit, doc, row, fixes),
    );
    // Full width under the list and the detail: the indicators' labels are long.
    $(`index-losses-${unit}`).replaceChildren(
      el("h4", { text: `Điểm bị mất theo chỉ số — ${row.name}` }),
      lossTable(unit, row, scoring),
      unscored.length
        ? el(
            "p",
            { class: "hint" },
            "Không tính điểm: ",
            unscored
              .map((i) => {
                // 2.2's ratio is an average in working days.
                const unitText = i.code === "2.2" ? " ngày làm việc" : "";
                return `${i.code} ${i.label}${i.ratio === null ? "" : ` (${maxFmt.format(i.ratio)}${unitText})`}`;
              })
              .join("; "),
            ".",
          )
        : "",
    );
    index.bars = { unit, row };
    drawIndexBars(unit, row);
  }

  function fixList(unit, doc, row, fixes) {
    if (!fixes.length) return el("p", { class: "index-fixes", text: "Không mất điểm ở chỉ số nào." });
    const list = el("ol", { class: "index-fixes" });
    for (const i of fixes) {
      const cents = lostCents(i);
      const item = el(
        "li",
        { "data-code": i.code, "data-lost": (cents / 100).toFixed(2) },
        el("span", { class: "fix-points", text: `+${centsText(cents)} điểm` }),
        " ",
        el("strong", { text: i.code }),
        " ",
        el("span", { class: "fix-label", text: i.label }),
      );
      const lostDossiers =
        i.source === "computed" && i.numerator !== null && i.denominator !== null ? i.denominator - i.numerator : 0;
      if (INDEX_DOSSIER_LOSS.has(i.code) && i.source === "computed" && lostDossiers > 0) {
        const q = new URLSearchParams({ index_loss: i.code, period: doc.period });
        if (unit !== "province") q.set("agency", row.code);
        q.set("limit", String(PAGE_SIZE));
        const a = el("a", {
          href: apiUrl("dossiers", q),
          class: "drill-link index-loss",
          "data-kind": "index",
          "data-index-loss": i.code,
          "data-judged-at": doc.judged_at,
          "data-count": lostDossiers,
          "data-label": `Hồ sơ làm mất điểm chỉ số ${i.code} — ${row.name}, ${periodName(index.s)}`,
          text: `Xem ${num(lostDossiers)} hồ sơ làm mất điểm`,
        });
        item.append(el("span", { class: "fix-action" }, a));
      } else {
        let note;
        if (i.source === "missing") {
          note = "Chưa khai báo: cần khai báo giá trị của chỉ số (tử số, mẫu số) cho kỳ này.";
        } else if (INDEX_DOSSIER_LOSS.has(i.code)) {
          note = "Không có hồ sơ trong kỳ để tính chỉ số này.";
        } else {
          note = INDEX_FIX_NOTE[i.code] || "Cải thiện số liệu của chỉ số này.";
          if (i.numerator !== null && i.denominator !== null && ["3.6b", "3.6c"].includes(i.code)) {
            note += i.denominator
              ? ` Hiện đạt ${num(i.numerator)}/${num(i.denominator)} thủ tục.`
              : " Kỳ này chưa có thủ tục nào để tính chỉ số.";
          }
        }
        item.append(el("span", { class: "fix-note", text: note }));
      }
      list.append(item);
    }
    return list;
  }

  function lossTable(unit, row, scoring) {
    const table = el(
      "table",
      { class: "data compact index-loss-table" },
      el("caption", { class: "sr-only", text: `Điểm từng chỉ số — ${row.name}` }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col", text: "Chỉ số" }),
          el("th", { scope: "col", text: "Nội dung" }),
          el("th", { scope: "col", class: "num", text: "Tử số / mẫu số" }),
          el("th", { scope: "col", class: "num", text: "Tỷ lệ" }),
          el("th", { scope: "col", class: "num", text: "Điểm" }),
          el("th", { scope: "col", class: "num", text: "Tối đa" }),
          el("th", { scope: "col", class: "num", text: "Bị mất" }),
        ),
      ),
    );
    const body = el("tbody");
    for (const i of scoring) {
      const cents = lostCents(i);
      const fraction =
        i.numerator === null || i.denominator === null ? "—" : `${num(i.numerator)} / ${num(i.denominator)}`;
      const notes = [];
      if (i.provisional) notes.push("tạm tính");
      if (i.uncatalogued) notes.push(`${num(i.uncatalogued)} hồ sơ thủ tục ngoài danh mục không được tính`);
      body.append(
        el(
          "tr",
          { "data-code": i.code, "data-source": i.source, "data-lost": (cents / 100).toFixed(2), class: i.source === "missing" ? "missing" : null },
          el("th", { scope: "row", class: "code", text: i.code }),
          el(
            "td",
            { class: "label" },
            i.label,
            notes.length ? el("span", { class: "note", text: ` (${notes.join("; ")})` }) : "",
            i.source === "declared" ? el("span", { class: "source", text: " — số liệu khai báo" }) : "",
          ),
          el("td", { class: "num", text: i.source === "missing" ? "Chưa khai báo" : fraction }),
          el("td", { class: "num", text: pct(i.ratio) }),
          el("td", { class: "num", text: pts(i.points_rounded) }),
          el("td", { class: "num", text: maxFmt.format(i.max_points) }),
          el("td", { class: cents ? "num lost" : "num muted", text: cents ? `−${centsText(cents)}` : "0" }),
        ),
      );
    }
    table.append(body);
    return el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": table.caption.textContent }, table);
  }

  // The six groups as horizontal bars: each track as long as the group's maximum (one scale for all,
  // so a 22-point group is drawn longer than a 10-point one), filled up to the points obtained.
  function drawIndexBars(unit, row) {
    const fig = $(`index-bars-${unit}`);
    if (!fig) return;
    const width = Math.max(280, Math.floor(fig.clientWidth || 480));
    const groups = row.groups;
    const rowH = 42;
    const valueW = 92;
    const height = groups.length * rowH + 6;
    const trackW = width - valueW - 2;
    const scale = Math.max(...groups.map((g) => g.max_points), 1);
    const title = `Điểm theo nhóm — ${row.name}`;
    const chart = svg("svg", {
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `${title}; số liệu trong bảng bên dưới biểu đồ.`,
      class: "chart-svg bars-svg",
    });
    groups.forEach((g, n) => {
      const y = n * rowH;
      const full = (trackW * g.max_points) / scale;
      const done = g.max_points > 0 ? (full * Math.min(g.points, g.max_points)) / g.max_points : 0;
      chart.append(
        svg("text", { x: 0, y: y + 14, class: "bar-label" }, g.label),
        svg("rect", { x: 0.5, y: y + 20.5, width: Math.max(0, full - 1), height: 15, rx: 2, class: "bar-track" }),
        svg(
          "rect",
          { x: 0.5, y: y + 20.5, width: Math.max(0, done - 1), height: 15, rx: 2, class: "bar-fill", "data-group": g.code, "data-points": g.points, "data-max": g.max_points },
          svg("title", {}, `${g.label}: ${pts(g.points)} / ${maxFmt.format(g.max_points)} điểm`),
        ),
        svg("text", { x: full + 6, y: y + 32, class: "bar-value" }, `${pts(g.points)} / ${maxFmt.format(g.max_points)}`),
      );
    });
    const table = el(
      "table",
      { class: "data compact" },
      el("caption", { class: "sr-only", text: title }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Nhóm" }), el("th", { scope: "col", class: "num", text: "Điểm" }), el("th", { scope: "col", class: "num", text: "Tối đa" }))),
      el(
        "tbody",
        {},
        ...groups.map((g) =>
          el(
            "tr",
            { "data-group": g.code, "data-points": g.points, "data-max": g.max_points },
            el("th", { scope: "row", text: g.label }),
            el("td", { class: "num", text: pts(g.points) }),
            el("td", { class: "num", text: maxFmt.format(g.max_points) }),
          ),
        ),
      ),
    );
    fig.replaceChildren(
      el("figcaption", { text: "Điểm theo sáu nhóm tiêu chí, so với điểm tối đa" }),
      chart,
      el(
        "p",
        { class: "legend" },
        el("span", {}, el("span", { class: "key bar-key", "aria-hidden": "true" }), " Điểm đạt được"),
        el("span", {}, el("span", { class: "key track-key", "aria-hidden": "true" }), " Điểm tối đa của nhóm"),
      ),
      el("details", {}, el("summary", { text: "Bảng số liệu của biểu đồ" }), el("div", { class: "scroll" }, table)),
    );
  }

  // ---------------------------------------------------------------- backlog and drill-down

  function drillHref(s, dims, outcomes) {
    const q = filterParams(s, dims);
    for (const o of outcomes) q.append("outcome", o);
    // Judged at the end of the period, as the report's pending figures are (the API uses "now" when
    // the period has not ended yet, again as the report does).
    q.set("as_of", view ? view.to : "");
    q.set("limit", String(PAGE_SIZE));
    return apiUrl("dossiers", q);
  }

  const DRILL = {
    all: { outcomes: ["pending", "pending_overdue"], text: "đang giải quyết" },
    within: { outcomes: ["pending"], text: "đang giải quyết trong hạn" },
    overdue: { outcomes: ["pending_overdue"], text: "đang giải quyết quá hạn" },
  };

  function countLink(s, unit, key, kind, count, label) {
    if (unit && key === null) {
      // The drill-down API filters by value; it has no "no commune" / "no sector" filter.
      return el("td", { class: "num", title: "Không lọc được danh sách theo giá trị trống", text: num(count) });
    }
    if (!count) return el("td", { class: "num muted", text: "0" });
    const dims = unit ? { [unit]: key } : {};
    const a = el("a", {
      href: drillHref(s, dims, DRILL[kind].outcomes),
      class: "drill-link",
      "data-kind": kind,
      "data-unit": unit || "",
      "data-key": key || "",
      "data-count": count,
      "data-label": `Hồ sơ ${DRILL[kind].text} — ${label}`,
      text: num(count),
    });
    a.append(srOnly(` hồ sơ ${DRILL[kind].text}, ${label}: xem danh sách`));
    return el("td", { class: kind === "overdue" ? "num overdue" : "num" }, a);
  }

  function renderBacklog(unit, report, s) {
    const nameOf = (r) => r[`${unit}_name`] || unitName[unit](r[unit]);
    const rows = report.rows.filter((r) => r.counts.pending > 0);
    const idle = report.rows.length - rows.length;
    const columns = [
      {
        key: "name",
        label: { agency: "Cơ quan", commune: "Xã, phường", sector: "Lĩnh vực" }[unit],
        sortValue: nameOf,
        cell: (r) => el("th", { scope: "row", class: "name", text: nameOf(r) }),
      },
      {
        key: "pending",
        label: "Đang giải quyết",
        num: true,
        sortValue: (r) => r.counts.pending,
        cell: (r) => countLink(s, unit, r[unit], "all", r.counts.pending, nameOf(r)),
      },
      {
        key: "within",
        label: "Trong hạn",
        num: true,
        sortValue: (r) => r.counts.pending - r.counts.pending_overdue,
        cell: (r) => countLink(s, unit, r[unit], "within", r.counts.pending - r.counts.pending_overdue, nameOf(r)),
      },
      {
        key: "overdue",
        label: "Quá hạn",
        num: true,
        sortValue: (r) => r.counts.pending_overdue,
        cell: (r) => countLink(s, unit, r[unit], "overdue", r.counts.pending_overdue, nameOf(r)),
      },
    ];
    const t = report.totals.counts;
    const scope = filterText(s).replace(/^\(|\)$/g, "");
    const footer = el(
      "tr",
      { "data-total": "true" },
      el("th", { scope: "row", class: "name", text: "Tổng cộng" }),
      countLink(s, null, null, "all", t.pending, scope),
      countLink(s, null, null, "within", t.pending - t.pending_overdue, scope),
      countLink(s, null, null, "overdue", t.pending_overdue, scope),
    );
    const { table, items } = sortableTable({
      caption: `Hồ sơ đang giải quyết theo ${{ agency: "cơ quan", commune: "xã, phường", sector: "lĩnh vực" }[unit]}`,
      columns,
      rows,
      rowAttrs: (r) => ({ "data-code": r[unit] === null ? "" : r[unit] }),
      initial: { key: "overdue", dir: -1 },
      footer,
    });
    const note = el(
      "p",
      { class: "hint" },
      rows.length ? `${rows.length} đơn vị có hồ sơ đang giải quyết` : "Không có hồ sơ đang giải quyết",
      idle ? `; ${idle} đơn vị khác không có.` : ".",
    );
    const scroll = el("div", { class: "scroll tall", tabindex: 0, role: "region", "aria-label": table.caption.textContent }, table);
    $(`backlog-panel-${unit}`).replaceChildren(
      note,
      rows.length > 12 ? searchBox("Tìm đơn vị:", items, nameOf) : "",
      scroll,
    );
  }

  const OUTCOME_TEXT = {
    pending: "Đang giải quyết, trong hạn",
    pending_overdue: "Đang giải quyết, quá hạn",
    early: "Giải quyết trước hạn",
    on_time: "Giải quyết đúng hạn",
    late: "Giải quyết quá hạn",
    withdrawn: "Đã rút",
  };
  const CHANNEL_TEXT = { online: "Trực tuyến", in_person: "Trực tiếp", postal: "Bưu chính" };

  const drill = { href: "", label: "", count: 0, cursors: [null], page: 0, seq: 0, opener: null, indexLoss: "", judgedAt: "" };

  async function openDrill(link) {
    drill.opener = link;
    drill.href = link.getAttribute("href");
    drill.label = link.dataset.label;
    drill.count = Number(link.dataset.count);
    // A national-index link lists the dossiers that cost an indicator points, each with its reason.
    drill.indexLoss = link.dataset.indexLoss || "";
    drill.judgedAt = link.dataset.judgedAt || "";
    $("drill-reason-h").hidden = !drill.indexLoss;
    drill.cursors = [null];
    drill.page = 0;
    $("drill").hidden = false;
    $("drill-h").textContent = `${drill.label} (${num(drill.count)} hồ sơ)`;
    $("drill").dataset.expected = String(drill.count);
    await showDrillPage();
    $("drill-h").focus();
    $("drill").scrollIntoView({ block: "start" });
  }

  async function showDrillPage() {
    const seq = ++drill.seq;
    const q = new URLSearchParams(drill.href.split("?")[1]);
    const cursor = drill.cursors[drill.page];
    if (cursor) q.set("cursor", cursor);
    const url = apiUrl("dossiers", q);
    $("drill").dataset.state = "loading";
    $("drill").setAttribute("aria-busy", "true");
    try {
      const page = await getJSON(url);
      if (seq !== drill.seq) return;
      const body = $("drill-table").tBodies[0];
      body.replaceChildren(
        ...page.items.map((d) =>
          el(
            "tr",
            { "data-code": d.code, "data-outcome": d.outcome },
            el("th", { scope: "row", class: "code", text: d.code }),
            el("td", { text: d.procedure_name || d.procedure_code, title: d.procedure_code }),
            el("td", { text: unitName.agency(d.agency_code) }),
            el("td", { text: d.commune_code ? unitName.commune(d.commune_code) : "—" }),
            el("td", { text: CHANNEL_TEXT[d.channel] || d.channel }),
            el("td", { class: "date", text: dmyhm(d.received_at) }),
            el("td", { class: "date", text: dmyhm(d.due_at) }),
            el("td", { class: d.outcome === "pending_overdue" ? "overdue" : null, text: OUTCOME_TEXT[d.outcome] || "—" }),
            drill.indexLoss
              ? el("td", { class: "reason", title: d.index_reason, "data-reason": d.index_reason, text: reasonText(d.index_reason) })
              : null,
          ),
        ),
      );
      if (page.next_cursor) drill.cursors[drill.page + 1] = page.next_cursor;
      else drill.cursors.length = drill.page + 1;
      const first = drill.page * PAGE_SIZE + 1;
      const last = drill.page * PAGE_SIZE + page.items.length;
      $("drill-page").textContent = page.items.length
        ? `Trang ${drill.page + 1}: hồ sơ ${num(first)}–${num(last)} / ${num(drill.count)}`
        : "Không có hồ sơ";
      const focused = document.activeElement;
      $("drill-prev").disabled = drill.page === 0;
      $("drill-next").disabled = !page.next_cursor;
      // A button that just got disabled would drop keyboard focus to the top of the page.
      if (focused && focused.disabled) {
        const other = focused === $("drill-next") ? $("drill-prev") : $("drill-next");
        (other.disabled ? $("drill-h") : other).focus();
      }
      $("drill-json").href = url;
      $("drill-note").textContent = drill.indexLoss
        ? `Hồ sơ không đạt yêu cầu của chỉ số ${drill.indexLoss}, tình trạng đánh giá tại ${dmyhm(drill.judgedAt)}.`
        : `Tình trạng tính đến hết ngày ${dmy(view.to)}, hoặc đến hiện tại nếu kỳ chưa kết thúc.`;
      $("drill").dataset.page = String(drill.page + 1);
      $("drill").dataset.state = "ready";
    } catch (err) {
      $("drill").dataset.state = "error";
      $("drill-page").textContent = `Không tải được danh sách: ${err.message}`;
    } finally {
      $("drill").removeAttribute("aria-busy");
    }
  }

  function closeDrill(focusBack) {
    $("drill").hidden = true;
    if (focusBack && drill.opener && drill.opener.isConnected) drill.opener.focus();
  }

  // ---------------------------------------------------------------- what to do today (worklists)

  // GET /v1/worklists counts, per unit, the dossiers of every worklist (GET /v1/worklists/{kind}),
  // judged now with the view's filters; the period kinds (late without apology, unpaid online, no
  // electronic result) over the view's dates. The page shows the counts as they come and links each
  // to its list, shown here a page at a time by the API's cursor.
  const WL_TEXT = {
    due_soon: "Sắp đến hạn",
    overdue: "Quá hạn",
    late_without_apology: "Trễ hạn chưa xin lỗi",
    supplement_repeated: "Yêu cầu bổ sung nhiều lần",
    unpaid_online: "Chưa thanh toán trực tuyến",
    no_electronic_result: "Chưa có kết quả điện tử",
    awaiting_supplement: "Chờ người dân bổ sung",
  };
  // Listed apart: on the applicant's clock, neither due nor overdue.
  const WL_APART = "awaiting_supplement";
  const WL_UNIT_TEXT = { agency: "cơ quan", commune: "xã, phường" };

  const wl = { s: null, seq: 0, docs: new Map(), unit: "agency" };

  function worklistParams(s, dims) {
    const q = filterParams(s, dims);
    q.set("from", view.from);
    q.set("to", view.to);
    return q;
  }

  function loadWorklists(s) {
    wl.s = s;
    wl.docs = new Map();
    wl.seq += 1;
    for (const unit of ["agency", "commune"]) $(`wl-panel-${unit}`).replaceChildren();
    return showWorklistUnit(wl.unit);
  }

  async function showWorklistUnit(unit) {
    wl.unit = unit;
    const section = $("worklists");
    if (!wl.s) return;
    if (wl.docs.has(unit)) {
      Object.assign(section.dataset, { state: "ready", unit });
      return;
    }
    const seq = wl.seq;
    const s = wl.s;
    Object.assign(section.dataset, { state: "loading", unit });
    section.setAttribute("aria-busy", "true");
    const q = worklistParams(s);
    q.set("unit", unit);
    try {
      const doc = await getJSON(apiUrl("worklists", q));
      if (seq !== wl.seq) return;
      wl.docs.set(unit, doc);
      renderWorklistCounts(unit, doc, s);
      $("wl-note").textContent =
        `Hồ sơ đang giải quyết được đánh giá lúc ${dmyhm(doc.as_of)}, sắp đến hạn là còn không quá ` +
        `${num(doc.due_within)} ngày làm việc; trễ hạn đã giải quyết, chưa thanh toán trực tuyến và chưa có ` +
        `kết quả điện tử tính trong kỳ ${dmy(doc.from)} – ${dmy(doc.to)} ${filterText(s)}. Ngày làm việc theo ` +
        "lịch làm việc (trừ cuối tuần, ngày lễ, ngày nghỉ của tỉnh). Bấm vào một con số để xem danh sách.";
      if (wl.unit === unit) Object.assign(section.dataset, { state: "ready", unit });
    } catch (err) {
      if (seq !== wl.seq) return;
      $(`wl-panel-${unit}`).replaceChildren(el("p", { class: "error", text: `Không tải được việc cần làm: ${err.message}` }));
      Object.assign(section.dataset, { state: "error", unit });
    } finally {
      if (seq === wl.seq) section.removeAttribute("aria-busy");
      renderCalls();
    }
  }

  function worklistLink(s, unit, code, kind, count, label) {
    const apart = kind === WL_APART ? " apart" : "";
    if (unit && code === null) {
      // The list filters by value; it has no "no ward" filter.
      return el("td", { class: `num${apart}`, title: "Không lọc được danh sách theo giá trị trống", text: num(count) });
    }
    if (!count) return el("td", { class: `num muted${apart}`, text: "0" });
    const q = worklistParams(s, unit ? { [unit]: code } : {});
    q.set("limit", String(PAGE_SIZE));
    const a = el("a", {
      href: apiUrl("worklists/" + kind, q),
      class: "wl-link",
      "data-kind": kind,
      "data-unit": unit || "",
      "data-key": code || "",
      "data-count": count,
      "data-label": `${WL_TEXT[kind]} — ${label}`,
      text: num(count),
    });
    a.append(srOnly(` hồ sơ ${WL_TEXT[kind].toLowerCase()}, ${label}: xem danh sách`));
    return el("td", { class: `num${kind === "overdue" || kind === "late_without_apology" ? " overdue" : ""}${apart}` }, a);
  }

  function renderWorklistCounts(unit, doc, s) {
    // The kinds in the API's order (app.core.worklist.KINDS), read from the totals it sends.
    const kinds = Object.keys(doc.totals);
    const nameOf = (r) => r[`${unit}_name`] || (r[unit] === null ? "Không gắn xã, phường" : unitName[unit](r[unit]));
    const columns = [
      {
        key: "name",
        label: unit === "agency" ? "Cơ quan" : "Xã, phường",
        sortValue: nameOf,
        cell: (r) => el("th", { scope: "row", class: "name", text: nameOf(r) }),
      },
      ...kinds.map((kind) => ({
        key: kind,
        label: WL_TEXT[kind],
        sub:
          kind === "due_soon"
            ? `≤ ${num(doc.due_within)} ngày làm việc`
            : kind === WL_APART
              ? "không tính hạn"
              : null,
        num: true,
        sortValue: (r) => r.counts[kind],
        cell: (r) => worklistLink(s, unit, r[unit], kind, r.counts[kind], nameOf(r)),
      })),
    ];
    const scope = filterText(s).replace(/^\(|\)$/g, "");
    const footer = el(
      "tr",
      { "data-total": "true" },
      el("th", { scope: "row", class: "name", text: "Tổng cộng" }),
      ...kinds.map((kind) => worklistLink(s, null, null, kind, doc.totals[kind], scope)),
    );
    const { table, items } = sortableTable({
      caption: `Việc cần làm theo ${WL_UNIT_TEXT[unit]}`,
      columns,
      rows: doc.rows,
      rowAttrs: (r) => ({ "data-code": r[unit] === null ? "" : r[unit] }),
      initial: { key: "overdue", dir: -1 },
      footer,
    });
    for (const th of table.tHead.rows[0].cells) if (th.cellIndex === kinds.length) th.classList.add("apart");
    const named = doc.rows.filter((r) => r[unit] !== null).length;
    const note = el(
      "p",
      { class: "hint" },
      named
        ? `${named} ${WL_UNIT_TEXT[unit]} có việc cần làm${named < doc.rows.length ? " (và hồ sơ không gắn xã, phường)" : ""}. `
        : doc.rows.length
          ? "Chỉ hồ sơ không gắn xã, phường có việc cần làm. "
          : `Không ${WL_UNIT_TEXT[unit]} nào có việc cần làm. `,
      "Cột cuối, hồ sơ chờ người dân bổ sung theo yêu cầu (lần duy nhất, chưa trả lời), tính riêng: " +
        "thời gian chờ thuộc về người dân, không tính là sắp đến hạn hay quá hạn.",
    );
    const scroll = el("div", { class: "scroll tall", tabindex: 0, role: "region", "aria-label": table.caption.textContent }, table);
    $(`wl-panel-${unit}`).replaceChildren(note, doc.rows.length > 12 ? searchBox("Tìm đơn vị:", items, nameOf) : "", scroll);
  }

  const wlList = { href: "", kind: "", label: "", count: 0, cursors: [null], page: 0, seq: 0, opener: null };

  async function openWorklist(link) {
    wlList.opener = link;
    wlList.href = link.getAttribute("href");
    wlList.kind = link.dataset.kind;
    wlList.label = link.dataset.label;
    wlList.count = Number(link.dataset.count);
    wlList.cursors = [null];
    wlList.page = 0;
    const section = $("wl-list");
    section.hidden = false;
    section.dataset.kind = wlList.kind;
    section.dataset.expected = String(wlList.count);
    $("wl-list-h").textContent = `${wlList.label} (${num(wlList.count)} hồ sơ)`;
    // The whole list as CSV: the same parameters, without the page's.
    const q = new URLSearchParams(wlList.href.split("?")[1]);
    q.delete("limit");
    q.set("format", "csv");
    $("wl-csv").href = apiUrl("worklists/" + wlList.kind, q);
    await showWorklistPage();
    $("wl-list-h").focus();
    section.scrollIntoView({ block: "start" });
  }

  // A deadline at local midnight is the end of the day before (as the API judges it): said so.
  function deadlineText(iso) {
    if (!iso) return "Không có hạn";
    if (iso.slice(11, 16) !== "00:00") return dmyhm(iso);
    const d = new Date(Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10)) - 1));
    return `hết ngày ${dmy(d.toISOString().slice(0, 10))}`;
  }

  function workingDaysCell(d) {
    if (d.clock === "applicant") return el("td", { class: "muted", text: "Chờ người dân bổ sung" });
    if (d.working_days_late !== null) {
      const text = d.working_days_late
        ? `Quá hạn ${num(d.working_days_late)} ngày`
        : "Quá hạn chưa đến 1 ngày";
      return el("td", { class: "overdue", "data-late": d.working_days_late, text });
    }
    if (d.working_days_left !== null) {
      const text = d.working_days_left ? `Còn ${num(d.working_days_left)} ngày` : "Đến hạn hôm nay";
      return el("td", { "data-left": d.working_days_left, text });
    }
    return el("td", { class: "muted", text: "—" });
  }

  function apologyCell(d) {
    if (d.apology_owed) return el("td", { class: "overdue", text: "Cần xin lỗi" });
    return el("td", { class: d.apology_issued ? null : "muted", text: d.apology_issued ? "Đã xin lỗi" : "—" });
  }

  function weighsOnText(w) {
    const parts = w.rates.map((r) => ref.rates.get(r)?.label_vi ?? r);
    if (w.index.length) parts.push(`chỉ số ${w.index.join(", ")} (Quyết định 766)`);
    return parts.length ? parts.join("; ") : "—";
  }

  async function showWorklistPage() {
    const seq = ++wlList.seq;
    const q = new URLSearchParams(wlList.href.split("?")[1]);
    const cursor = wlList.cursors[wlList.page];
    if (cursor) q.set("cursor", cursor);
    const url = apiUrl("worklists/" + wlList.kind, q);
    const section = $("wl-list");
    section.dataset.state = "loading";
    section.setAttribute("aria-busy", "true");
    try {
      const page = await getJSON(url);
      if (seq !== wlList.seq) return;
      $("wl-table").tBodies[0].replaceChildren(
        ...page.items.map((d) =>
          el(
            "tr",
            { "data-code": d.code },
            el("th", { scope: "row", class: "code", text: d.code }),
            el("td", { text: d.procedure_name || d.procedure_code, title: d.procedure_code }),
            el("td", { text: d.agency_name || d.agency_code }),
            el("td", { text: d.commune_code ? d.commune_name || d.commune_code : "—" }),
            el("td", {
              class: "date",
              title: d.deadline_source === "catalogue" ? "Tính theo thời hạn trong danh mục thủ tục" : null,
              text: deadlineText(d.deadline_at) + (d.deadline_source === "catalogue" ? " (theo danh mục)" : ""),
            }),
            workingDaysCell(d),
            apologyCell(d),
            el("td", { class: "weighs", text: weighsOnText(d.weighs_on) }),
          ),
        ),
      );
      if (page.next_cursor) wlList.cursors[wlList.page + 1] = page.next_cursor;
      else wlList.cursors.length = wlList.page + 1;
      const first = wlList.page * PAGE_SIZE + 1;
      const last = wlList.page * PAGE_SIZE + page.items.length;
      $("wl-page").textContent = page.items.length
        ? `Trang ${wlList.page + 1}: hồ sơ ${num(first)}–${num(last)} / ${num(wlList.count)}`
        : "Không có hồ sơ";
      const focused = document.activeElement;
      $("wl-prev").disabled = wlList.page === 0;
      $("wl-next").disabled = !page.next_cursor;
      if (focused && focused.disabled) {
        const other = focused === $("wl-next") ? $("wl-prev") : $("wl-next");
        (other.disabled ? $("wl-list-h") : other).focus();
      }
      $("wl-json").href = url;
      $("wl-list-note").textContent =
        `Đánh giá lúc ${dmyhm(page.as_of)}, theo hạn giải quyết (sớm nhất trước), rồi mã hồ sơ. ` +
        "Ngày làm việc: còn lại đến hết ngày hẹn trả, hoặc đã quá hạn sau ngày hẹn trả.";
      section.dataset.page = String(wlList.page + 1);
      section.dataset.state = "ready";
    } catch (err) {
      if (seq !== wlList.seq) return;
      section.dataset.state = "error";
      $("wl-page").textContent = `Không tải được danh sách: ${err.message}`;
    } finally {
      section.removeAttribute("aria-busy");
      renderCalls();
    }
  }

  function closeWorklist(focusBack) {
    $("wl-list").hidden = true;
    if (focusBack && wlList.opener && wlList.opener.isConnected) wlList.opener.focus();
  }

  // ---------------------------------------------------------------- the quality of the feed

  // GET /v1/feed-quality always needs a token (read, ingest or admin), even when reads are open: it
  // names tokens and dossier codes. The page uses the token given here for it (kept for the browser
  // tab, and sent with this call only: an ingest token may not read the rest), else the read token.
  const FEED_TOKEN_KEY = "tthc-feed-token";
  const feed = { seq: 0, s: null };
  const WARNING_TEXT = {
    finished_without_deadline: "Đã giải quyết nhưng không có hạn giải quyết",
    resolved_outside_hours: "Thời điểm giải quyết ngoài giờ làm việc",
    resolved_on_day_off: "Giải quyết vào ngày nghỉ (cuối tuần, ngày lễ, ngày nghỉ của tỉnh)",
    deadline_below_legal: "Hạn giải quyết sớm hơn thời hạn theo danh mục",
    deadline_over_twice_legal: "Hạn giải quyết dài hơn gấp đôi thời hạn theo danh mục",
    open_over_a_year: "Chưa giải quyết sau hơn một năm kể từ khi tiếp nhận",
    supplement_without_history: "Chờ bổ sung nhưng không có lịch sử yêu cầu bổ sung",
  };
  const BASE_TEXT = { received: "hồ sơ mới nhận", finished: "hồ sơ mới giải quyết xong", resolved: "hồ sơ mới có thời điểm giải quyết" };
  const feedAgency = (code) => (code === "unknown" ? "Mã cơ quan chưa đăng ký" : unitName.agency(code));

  function feedToken() {
    return sessionStorage.getItem(FEED_TOKEN_KEY) || token;
  }

  function askFeedToken(why) {
    const section = $("feed");
    section.dataset.state = "token";
    $("feed-token-why").textContent = why;
    $("feed-token-box").hidden = false;
    $("feed-body").replaceChildren();
  }

  async function loadFeed(s) {
    feed.s = s;
    const seq = ++feed.seq;
    const section = $("feed");
    const bearer = feedToken();
    if (!bearer) {
      askFeedToken(
        "Xem chất lượng dữ liệu cần mã truy cập có quyền đọc, nạp dữ liệu hoặc quản trị (kể cả khi số liệu " +
          "được xem tự do), vì trang này nêu mã truy cập và mã hồ sơ. Mã chỉ được giữ trong thẻ trình duyệt này.",
      );
      return;
    }
    $("feed-token-box").hidden = true;
    section.dataset.state = "loading";
    section.setAttribute("aria-busy", "true");
    // The view's agency filter applies; wards and sectors do not (the counts are kept per agency).
    const q = new URLSearchParams();
    if (s.agency) q.set("agency", s.agency);
    try {
      const doc = await getJSON(apiUrl("feed-quality", q), bearer);
      if (seq !== feed.seq) return;
      renderFeed(doc, s);
      section.dataset.state = "ready";
    } catch (err) {
      if (seq !== feed.seq) return;
      if (err instanceof AuthNeeded) {
        // 401: the token is unknown, revoked or expired: forgotten. 403: it lacks the scope, or the
        // view's agency is not one of its agencies: kept (another view may suit it), another may be typed.
        if (err.status === 401) sessionStorage.removeItem(FEED_TOKEN_KEY);
        const why =
          err.status === 401
            ? "Mã truy cập không hợp lệ, đã bị thu hồi hoặc hết hạn."
            : "Mã truy cập không có quyền xem chất lượng dữ liệu của lựa chọn này (cần quyền đọc, nạp dữ liệu " +
              "hoặc quản trị; mã chỉ dành cho một số cơ quan chỉ xem được các cơ quan đó).";
        askFeedToken(err.detail ? `${why} (${err.detail})` : why);
      } else {
        section.dataset.state = "error";
        $("feed-body").replaceChildren(el("p", { class: "error", text: `Không tải được chất lượng dữ liệu: ${err.message}` }));
      }
    } finally {
      if (seq === feed.seq) section.removeAttribute("aria-busy");
      renderCalls();
    }
  }

  function smallTable(caption, cls, heads, rows) {
    const table = el(
      "table",
      { class: `data compact ${cls}` },
      el("caption", { class: "sr-only", text: caption }),
      el("thead", {}, el("tr", {}, ...heads.map(([text, isNum]) => el("th", { scope: "col", class: isNum ? "num" : null, text })))),
      el("tbody", {}, ...rows),
    );
    return el("div", { class: "scroll tall", tabindex: 0, role: "region", "aria-label": caption }, table);
  }

  function renderFeed(doc, s) {
    const rej = doc.rejected;
    const warned = doc.warnings.reduce((n, w) => n + w.count, 0);
    const parts = [
      el(
        "p",
        { class: "feed-summary" },
        `Từ ${dmy(doc.from)} đến ${dmy(doc.to)}${s.agency ? `, ${unitName.agency(s.agency)}` : ""}: `,
        el("strong", { class: "feed-rejected", text: `${num(rej.total)} bản ghi bị từ chối` }),
        "; ",
        el("strong", { class: "feed-warned", text: `${num(warned)} cảnh báo` }),
        " trên bản ghi đã nhận (tính riêng, không phải lỗi). Lọc theo xã, phường hay lĩnh vực không áp dụng ở đây.",
      ),
    ];
    if (doc.truncated.length) {
      parts.push(el("p", { class: "hint", text: `Danh sách bị cắt bớt vì quá dài: ${doc.truncated.join(", ")}.` }));
    }
    parts.push(
      el("h3", { text: "Bản ghi bị từ chối theo lý do" }),
      rej.by_rule.length
        ? smallTable(
            "Bản ghi bị từ chối theo lý do",
            "feed-rules",
            [["Trường"], ["Quy tắc"], ["Loại lỗi"], ["Số bản ghi", true]],
            rej.by_rule.map((r) =>
              el(
                "tr",
                { "data-field": r.field, "data-rule": r.rule, "data-type": r.type, "data-count": r.count },
                el("td", { class: "code", text: r.field || "(cả bản ghi)" }),
                el("td", { text: r.rule }),
                el("td", { class: "code", text: r.type }),
                el("td", { class: "num", text: num(r.count) }),
              ),
            ),
          )
        : el("p", { class: "hint", text: "Không có bản ghi nào bị từ chối." }),
    );
    if (rej.total) {
      parts.push(
        el(
          "div",
          { class: "feed-grid" },
          el(
            "div",
            {},
            el("h3", { text: "Theo cơ quan" }),
            smallTable(
              "Bản ghi bị từ chối theo cơ quan",
              "feed-units",
              [["Cơ quan"], ["Số bản ghi", true]],
              rej.by_unit.map((u) =>
                el(
                  "tr",
                  { "data-agency": u.agency_code, "data-count": u.count },
                  el("th", { scope: "row", class: "name", text: feedAgency(u.agency_code) }),
                  el("td", { class: "num", text: num(u.count) }),
                ),
              ),
            ),
          ),
          el(
            "div",
            {},
            el("h3", { text: "Theo ngày nhận" }),
            smallTable(
              "Bản ghi bị từ chối theo ngày",
              "feed-days",
              [["Ngày"], ["Số bản ghi", true]],
              rej.by_day.map((d) =>
                el(
                  "tr",
                  { "data-day": d.day, "data-count": d.count },
                  el("th", { scope: "row", class: "date", text: dmy(d.day) }),
                  el("td", { class: "num", text: num(d.count) }),
                ),
              ),
            ),
          ),
        ),
      );
    }
    parts.push(
      el("h3", { text: "Cảnh báo trên bản ghi đã nhận" }),
      el(
        "p",
        { class: "hint" },
        "Bản ghi vẫn được nhận; mỗi hồ sơ tính một lần cho mỗi cảnh báo. Cảnh báo về thời điểm giải quyết chỉ " +
          "lưu ý một cơ quan khi tỷ lệ vượt ngưỡng.",
      ),
      smallTable(
        "Cảnh báo trên bản ghi đã nhận",
        "feed-warnings",
        [["Cảnh báo"], ["Trường"], ["Số hồ sơ", true], ["Trên tổng", true], ["Tỷ lệ", true], ["Cơ quan cần lưu ý", true]],
        doc.warnings.map((w) =>
          el(
            "tr",
            { "data-rule": w.rule, "data-count": w.count, class: w.count ? null : "idle" },
            el("th", { scope: "row", title: w.description, text: WARNING_TEXT[w.rule] || w.rule }),
            el("td", { class: "code", text: w.field }),
            el("td", { class: w.count ? "num" : "num muted", text: num(w.count) }),
            el("td", { class: "num", title: BASE_TEXT[w.base] || w.base, text: num(w.base_count) }),
            el("td", { class: "num", text: w.share === null ? "—" : pct(w.share) }),
            el("td", {
              class: w.flagged_units ? "num overdue" : "num muted",
              title: w.by_unit.filter((u) => u.flagged).map((u) => feedAgency(u.agency_code)).join(", ") || null,
              text: num(w.flagged_units),
            }),
          ),
        ),
      ),
      el("h3", { text: "Ví dụ gần nhất" }),
    );
    if (!doc.examples.length) {
      parts.push(el("p", { class: "hint", text: "Chưa có ví dụ nào trong khoảng này." }));
    } else {
      parts.push(
        el(
          "ul",
          { class: "feed-examples" },
          ...doc.examples.map((g) =>
            el(
              "li",
              { "data-agency": g.agency_code, "data-kind": g.kind, "data-field": g.field, "data-rule": g.rule },
              el("strong", { text: feedAgency(g.agency_code) }),
              ` — ${g.kind === "rejected" ? "từ chối" : "cảnh báo"}, `,
              g.field ? "trường " : "cả bản ghi",
              g.field ? el("span", { class: "code", text: g.field }) : "",
              `: ${g.kind === "warning" ? WARNING_TEXT[g.rule] || g.rule : g.rule}. Hồ sơ gần nhất: `,
              ...joined(
                g.codes.map((c) => el("span", { class: "code", title: `nhận lúc ${dmyhm(c.seen_at)}`, text: c.code })),
                ", ",
              ),
            ),
          ),
        ),
      );
    }
    $("feed-body").replaceChildren(...parts);
  }

  // ---------------------------------------------------------------- downloads

  function renderDownloads(s) {
    const basis = s.basis === "reporting" ? "kỳ báo cáo" : "theo lịch";
    $("dl-note").textContent =
      `Báo cáo tình hình, kết quả giải quyết hồ sơ thủ tục hành chính ${periodName(s)} (${basis}), ` +
      `${filterText(s).replace(/^\(|\)$/g, "")}.`;
    const list = $("downloads");
    list.replaceChildren();
    for (const [unit, label] of [["agency", "Theo cơ quan"], ["commune", "Theo xã, phường"], ["sector", "Theo lĩnh vực"]]) {
      const links = [
        ["xlsx", "Excel (.xlsx)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
        ["csv", "CSV", "text/csv"],
      ].map(([format, text, type]) =>
        el("a", {
          href: apiUrl("reports/dossier-processing", reportParams(s, unit, format)),
          download: "",
          type,
          class: "download",
          "data-format": format,
          "data-unit": unit,
          text,
        }),
      );
      list.append(el("li", {}, `${label}: `, links[0], " · ", links[1]));
    }
  }

  // ---------------------------------------------------------------- closed periods and restatements

  const UNITS = ["agency", "commune", "sector"];
  const UNIT_TEXT = { agency: "Theo cơ quan", commune: "Theo xã, phường", sector: "Theo lĩnh vực" };
  const FILTER_DIMS = ["agency", "commune", "sector", "procedure", "channel"];
  const FILE_TEXT = { "json:": "JSON", "csv:": "CSV", "csv:excel-vi": "CSV (Excel tiếng Việt)", "xlsx:": "Excel (.xlsx)" };
  const FILE_TYPE = {
    json: "application/json",
    csv: "text/csv",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  };
  // The API names a level subtotal by its level; the report's subtotals carry the names.
  const LEVEL_TEXT = { province: "Sở, ban, ngành cấp tỉnh", commune: "UBND cấp xã" };
  const CHANGE_TEXT = { created: "Tạo mới sau khi chốt", updated: "Cập nhật sau khi chốt", deleted: "Đã xóa sau khi chốt" };

  // A period and basis have at most 100 closings over every unit and filter (the API refuses more),
  // so one page of 100 holds them all: one request, filtered here by the view's filters.
  const CLOSINGS_PAGE = 100;

  function closingsParams(s) {
    return new URLSearchParams({ period: periodLabel(s), basis: s.basis, limit: String(CLOSINGS_PAGE) });
  }

  // A closing applies to the view when its filters are exactly the view's (the API lists them checked,
  // values sorted; the page filters at most one agency, commune and sector, never procedure or channel).
  function sameFilters(closing, s) {
    return FILTER_DIMS.every((dim) => {
      const filed = closing.filters[dim] || [];
      const mine = s[dim] ? [s[dim]] : [];
      return filed.length === mine.length && filed.every((v, i) => v === mine[i]);
    });
  }

  const closedWhen = (c) =>
    `lúc ${c.closed_at.slice(11, 16)} ngày ${dmy(c.closed_at.slice(0, 10))}, ` +
    `người chốt: mã truy cập ${c.closed_by === null ? "không rõ" : c.closed_by}`;

  function filedLinks(s, closing) {
    return closing.files.map((f) => {
      const q = reportParams(s, closing.unit, f.format);
      if (f.dialect) q.set("csv_dialect", f.dialect);
      q.set("as_filed", "true");
      q.set("closing_id", String(closing.id));
      return el("a", {
        href: apiUrl("reports/dossier-processing", q),
        download: "",
        type: FILE_TYPE[f.format] || null,
        class: "download filed",
        "data-format": f.format,
        "data-dialect": f.dialect || "",
        "data-closing": closing.id,
        text: FILE_TEXT[`${f.format}:${f.dialect || ""}`] || `${f.format} ${f.dialect || ""}`.trim(),
      });
    });
  }

  function joined(nodes, sep) {
    const out = [];
    nodes.forEach((n, i) => out.push(...(i ? [sep, n] : [n])));
    return out;
  }

  const restated = { seq: 0 };

  function renderClosings(s, page, report) {
    const mine = page.items.filter((c) => sameFilters(c, s));
    const section = $("closing");
    section.hidden = !mine.length;
    $("closed-mark").hidden = !mine.length;
    restated.seq += 1; // a restatement still loading belongs to the previous view
    if (!mine.length) {
      section.dataset.state = "none";
      $("closings").replaceChildren();
      $("restated-body").replaceChildren();
      return;
    }
    const basis = s.basis === "reporting" ? "kỳ báo cáo" : "theo lịch";
    $("closing-note").textContent =
      `Báo cáo ${periodName(s)} (${basis}), ${filterText(s).replace(/^\(|\)$/g, "")}, đã được chốt: ` +
      "bản đã chốt không đổi dù số liệu được cập nhật sau đó.";
    const items = [];
    for (const unit of UNITS) {
      const ofUnit = mine.filter((c) => c.unit === unit); // newest first, as listed
      const latest = ofUnit.find((c) => c.superseded_by === null) || ofUnit[0];
      if (!latest) continue;
      const older = ofUnit.filter((c) => c !== latest);
      items.push(
        el(
          "li",
          { "data-unit": unit, "data-closing": latest.id },
          el("p", { class: "closing-when", text: `${UNIT_TEXT[unit]}: đã chốt ${closedWhen(latest)}.` }),
          el("p", { class: "closing-files" }, "Tải bản đã chốt: ", ...joined(filedLinks(s, latest), " · ")),
          older.length
            ? el(
                "ul",
                { class: "superseded", "aria-label": "Các lần chốt trước, đã được thay thế" },
                ...older.map((c) =>
                  el(
                    "li",
                    { "data-closing": c.id },
                    el("span", { class: "closing-when", text: `Lần chốt trước (đã thay thế): ${closedWhen(c)}. ` }),
                    ...joined(filedLinks(s, c), " · "),
                  ),
                ),
              )
            : null,
        ),
      );
    }
    $("closings").replaceChildren(...items);
    // The restatement of the report the tiles show (by agency) when it is closed, else of the first
    // closed unit: one request per view.
    const unit = UNITS.find((u) => mine.some((c) => c.unit === u));
    const latest = mine.find((c) => c.unit === unit && c.superseded_by === null) || mine.find((c) => c.unit === unit);
    loadRestatement(s, unit, latest, report);
  }

  async function loadRestatement(s, unit, closing, report) {
    const seq = restated.seq;
    const section = $("closing");
    section.dataset.state = "loading";
    section.setAttribute("aria-busy", "true");
    $("restated-note").textContent = `${UNIT_TEXT[unit]}, so với lần chốt ${closedWhen(closing)}.`;
    $("restated-body").replaceChildren(el("p", { class: "hint", text: "Đang tải…" }));
    const q = new URLSearchParams({ period: periodLabel(s), basis: s.basis, unit, closing_id: String(closing.id) });
    for (const [k, v] of filterParams(s)) q.append(k, v);
    try {
      const body = await getJSON(apiUrl("reports/dossier-processing/restatements", q));
      if (seq !== restated.seq) return;
      const levels = new Map(Object.entries(LEVEL_TEXT));
      for (const sub of report.subtotals || []) levels.set(sub.level, sub.level_name);
      renderRestatement(body, levels);
      section.dataset.state = "ready";
      section.dataset.closing = String(closing.id);
    } catch (err) {
      if (seq !== restated.seq) return;
      section.dataset.state = "error";
      $("restated-body").replaceChildren(el("p", { class: "error", text: `Không tải được số liệu điều chỉnh: ${err.message}` }));
    } finally {
      if (seq === restated.seq) section.removeAttribute("aria-busy");
      renderCalls();
    }
  }

  function rowText(row, unit, levels) {
    if (row.row === "totals") return "Tổng cộng";
    if (unit in row) return unitName[unit](row[unit]);
    if ("level" in row) return levels.get(row.level) || row.level;
    return Object.values(row).join(" ");
  }

  function outcomeText(classification, unit) {
    if (!classification) return "Không tính trong kỳ";
    const outcome = classification.outcome_at_end;
    const text = outcome ? OUTCOME_TEXT[outcome] || outcome : "Chưa tiếp nhận";
    return `${text} — ${unitName[unit](classification[unit] ?? null)}`;
  }

  function renderRestatement(body, levels) {
    const unit = body.unit;
    const box = $("restated-body");
    if (!body.figures.length && !body.reference.length) {
      box.replaceChildren(el("p", { class: "restated-none", text: "Không có số liệu nào thay đổi so với bản đã chốt." }));
      return;
    }
    // The dossiers, each once, under the figures; a figure's codes link to their rows.
    const anchor = new Map(body.dossiers.map((d, i) => [d.code, `restated-dossier-${i + 1}`]));
    const figures = body.figures.map((f) => {
      const label = ref.counts.get(f.count)?.label_vi ?? f.count;
      const cause = [];
      f.dossiers.forEach((code, i) => {
        if (i) cause.push(", ");
        const id = anchor.get(code);
        cause.push(
          id
            ? el("a", { href: `#${id}`, class: "code restated-link", text: code })
            : el("span", { class: "code", text: code }),
        );
      });
      const more = f.dossiers_total - f.dossiers.length;
      if (more > 0) cause.push(` và ${num(more)} hồ sơ khác`);
      if (f.reference.length) {
        if (cause.length) cause.push("; ");
        cause.push(`cơ quan đổi cấp: ${f.reference.map((code) => unitName.agency(code)).join(", ")}`);
      }
      if (!cause.length) cause.push("—");
      return el(
        "tr",
        { "data-count": f.count, "data-filed": f.filed, "data-current": f.current },
        el("th", { scope: "row", class: "name", text: rowText(f.row, unit, levels) }),
        el("td", { text: label, title: f.count }),
        el("td", { class: "num", text: num(f.filed) }),
        el("td", { class: "num", text: num(f.current) }),
        el("td", { class: "num", text: `${f.current > f.filed ? "+" : ""}${num(f.current - f.filed)}` }),
        el("td", { class: "cause" }, ...cause),
      );
    });
    const figureTable = el(
      "table",
      { class: "data compact restated-figures" },
      el("caption", { class: "sr-only", text: "Số liệu khác với bản đã chốt" }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["Dòng", "Chỉ tiêu", "Đã chốt", "Hiện nay", "Chênh lệch", "Hồ sơ làm thay đổi"].map((h, i) =>
            el("th", { scope: "col", class: i >= 2 && i <= 4 ? "num" : null, text: h }),
          ),
        ),
      ),
      el("tbody", {}, ...figures),
    );
    const parts = [];
    if (body.figures.length) {
      parts.push(el("div", { class: "scroll tall", tabindex: 0, role: "region", "aria-label": "Số liệu khác với bản đã chốt" }, figureTable));
    } else {
      parts.push(el("p", { class: "restated-none", text: "Không có con số nào thay đổi so với bản đã chốt." }));
    }
    if (body.dossiers.length) {
      const rows = body.dossiers.map((d) =>
        el(
          "tr",
          { id: anchor.get(d.code), "data-code": d.code, "data-change": d.change },
          el("th", { scope: "row", class: "code", text: d.code }),
          el("td", { text: d.changes > 1 ? `${CHANGE_TEXT[d.change]} (${num(d.changes)} lần)` : CHANGE_TEXT[d.change] }),
          el("td", { text: d.filed ? outcomeText(d.filed.classification, unit) : "Chưa có" }),
          el("td", { text: d.current ? outcomeText(d.current.classification, unit) : "Đã xóa" }),
          el("td", {
            class: "date",
            text:
              d.first_change_at === d.last_change_at
                ? dmyhm(d.last_change_at)
                : `${dmyhm(d.first_change_at)} – ${dmyhm(d.last_change_at)}`,
          }),
        ),
      );
      parts.push(
        el("h4", { text: "Hồ sơ thay đổi sau khi chốt" }),
        el(
          "div",
          { class: "scroll tall", tabindex: 0, role: "region", "aria-label": "Hồ sơ thay đổi sau khi chốt" },
          el(
            "table",
            { class: "data compact restated-dossiers" },
            el("caption", { class: "sr-only", text: "Hồ sơ thay đổi sau khi chốt" }),
            el(
              "thead",
              {},
              el(
                "tr",
                {},
                ...["Mã hồ sơ", "Thay đổi", "Khi chốt", "Hiện nay", "Thời điểm nhận thay đổi"].map((h) =>
                  el("th", { scope: "col", text: h }),
                ),
              ),
            ),
            el("tbody", {}, ...rows),
          ),
        ),
      );
    }
    if (body.reference.length) {
      parts.push(
        el("h4", { text: "Thay đổi danh mục cơ quan sau khi chốt" }),
        el(
          "ul",
          { class: "restated-reference" },
          ...body.reference.map((r) => {
            const said = [];
            if (r.filed_name !== r.current_name) {
              said.push(
                r.current_name === null
                  ? `không còn trong danh mục (khi chốt: ${r.filed_name})`
                  : r.filed_name === null
                    ? `thêm mới: ${r.current_name}`
                    : `đổi tên từ «${r.filed_name}» thành «${r.current_name}»`,
              );
            }
            if (r.filed_level !== r.current_level && r.filed_level !== null && r.current_level !== null) {
              said.push(`chuyển từ ${levels.get(r.filed_level) || r.filed_level} sang ${levels.get(r.current_level) || r.current_level}`);
            }
            return el("li", { "data-agency": r.agency }, el("span", { class: "code", text: r.agency }), `: ${said.join("; ")}.`);
          }),
        ),
      );
    }
    box.replaceChildren(...parts);
  }

  // With a read token, a plain link cannot send the Authorization header: fetch the file instead.
  async function downloadWithToken(a) {
    const res = await fetch(a.getAttribute("href"), { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const disposition = res.headers.get("Content-Disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || "bao-cao";
    const url = URL.createObjectURL(await res.blob());
    const tmp = el("a", { href: url, download: name });
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function renderCalls() {
    $("api-calls").replaceChildren(
      ...callLog.map((c) =>
        el("li", {}, el("code", { text: `GET /${c.url}` }), ` → ${c.status}${c.status === 304 ? " (không đổi)" : ""}, ${c.ms} ms`),
      ),
    );
  }

  // ---------------------------------------------------------------- tabs (WAI-ARIA pattern)

  function selectTab(tab, focus) {
    for (const t of tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]')) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    if (tab.dataset.indexUnit) showIndexUnit(tab.dataset.indexUnit);
    if (tab.dataset.wlUnit) showWorklistUnit(tab.dataset.wlUnit);
  }

  function setupTabs(tablist) {
    const tabs = [...tablist.querySelectorAll('[role="tab"]')];
    const select = selectTab;
    tablist.addEventListener("click", (e) => {
      const tab = e.target.closest('[role="tab"]');
      if (tab) select(tab, false);
    });
    tablist.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(document.activeElement);
      if (i < 0) return;
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  }

  // ---------------------------------------------------------------- wiring

  document.addEventListener("DOMContentLoaded", async () => {
    for (const t of document.querySelectorAll('[role="tablist"]')) setupTabs(t);
    $("kind").addEventListener("change", showKindFields);
    $("controls").addEventListener("submit", (e) => {
      e.preventDefault();
      const s = stateFromForm();
      history.pushState(null, "", urlFromState(s));
      load(s);
    });
    window.addEventListener("popstate", () => {
      const s = stateFromUrl();
      fillForm(s);
      load(s);
    });
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      token = $("token").value.trim();
      sessionStorage.setItem("tthc-read-token", token);
      $("token-box").hidden = true;
      start();
    });
    document.addEventListener("click", (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // new tab: the JSON
      const link = e.target.closest("a.drill-link");
      if (link) {
        e.preventDefault();
        openDrill(link);
        return;
      }
      const work = e.target.closest("a.wl-link");
      if (work) {
        e.preventDefault();
        openWorklist(work);
        return;
      }
      // A figure's dossier: its row in the list below, without a history entry (Back keeps the view).
      const moved = e.target.closest("a.restated-link");
      if (moved) {
        e.preventDefault();
        const row = $(moved.getAttribute("href").slice(1));
        if (!row) return;
        for (const r of document.querySelectorAll(".restated-dossiers tr.target")) r.classList.remove("target");
        row.classList.add("target");
        const head = row.querySelector("th");
        head.tabIndex = -1;
        head.focus({ preventScroll: true });
        row.scrollIntoView({ block: "center" });
        return;
      }
      const dl = e.target.closest("a.download, a.wl-download");
      if (dl && token) {
        e.preventDefault();
        downloadWithToken(dl).catch((err) => {
          $("error").textContent = `Không tải được báo cáo: ${err.message}`;
          $("error").hidden = false;
        });
      }
    });
    $("drill-next").addEventListener("click", () => {
      drill.page += 1;
      showDrillPage();
    });
    $("drill-prev").addEventListener("click", () => {
      drill.page = Math.max(0, drill.page - 1);
      showDrillPage();
    });
    $("drill-close").addEventListener("click", () => closeDrill(true));
    $("wl-next").addEventListener("click", () => {
      wlList.page += 1;
      showWorklistPage();
    });
    $("wl-prev").addEventListener("click", () => {
      wlList.page = Math.max(0, wlList.page - 1);
      showWorklistPage();
    });
    $("wl-close").addEventListener("click", () => closeWorklist(true));
    $("feed-token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(FEED_TOKEN_KEY, $("feed-token").value.trim());
      $("feed-token").value = "";
      if (feed.s) loadFeed(feed.s);
    });
    start();
  });

  let referenceLoaded = false;
  let defaultYearKnown = false;

  // The latest year with dossiers received, from the yearly counts of the last 20 years (one cheap
  // read of the yearly rollups); the current year when there are none, or when the read fails.
  async function latestDataYear() {
    const q = new URLSearchParams({ from: `${thisYear - 20}-01-01`, to: `${thisYear}-12-31`, group_by: "year" });
    try {
      const body = await getJSON(apiUrl("metrics", q));
      const years = body.rows.filter((r) => r.counts.received > 0).map((r) => Number(r.year));
      return years.length ? Math.max(...years) : thisYear;
    } catch {
      return thisYear;
    }
  }

  async function start() {
    document.body.dataset.state = "loading";
    const s = stateFromUrl();
    fillForm(s);
    if (!referenceLoaded) {
      try {
        await loadReference();
        referenceLoaded = true;
      } catch (err) {
        document.body.dataset.state = "error";
        $("period-text").textContent = "Chưa tải được số liệu.";
        if (err instanceof AuthNeeded) {
          $("token-why").textContent = err.message;
          $("token-box").hidden = false;
          $("token").focus();
        } else {
          $("error").textContent = `Không tải được danh mục: ${err.message}`;
          $("error").hidden = false;
        }
        return;
      }
    }
    if (!defaultYearKnown) {
      defaultYear = await latestDataYear();
      defaultYearKnown = true;
    }
    const opened = stateFromUrl();
    fillForm(opened);
    await load(opened);
  }
})();
