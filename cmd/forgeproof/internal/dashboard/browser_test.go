package dashboard_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/dashboard"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

var update = flag.Bool("update", false, "write the screenshot to docs/img/dashboard.png")

// recordViolations runs in every document before its own scripts and
// records Content-Security-Policy violations.
const recordViolations = `window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));`

// The page as the test reads it from the DOM.
type rendered struct {
	Allowed, Rejected, ReportOnly, Active string
	Series                                map[string]string // data-series → data-total
	Bars                                  map[string]int    // reason → sum of the bars' counts
	Legend                                []string
	Origins                               [][2]string
	Alerts                                [][]string
	Images                                int
	Pwned                                 bool
	Violations                            []string
	YLabels                               map[string][]string
}

const readDOM = `(() => {
  const q = (s) => document.querySelector(s).textContent;
  const series = {};
  for (const p of document.querySelectorAll("#chart-requests path[data-series]")) series[p.dataset.series] = p.dataset.total;
  const bars = {};
  for (const r of document.querySelectorAll("#chart-reasons rect[data-reason]")) bars[r.dataset.reason] = (bars[r.dataset.reason] || 0) + Number(r.dataset.count);
  return {
    Allowed: q("#total-allowed"), Rejected: q("#total-rejected"), ReportOnly: q("#total-report-only"), Active: q("#active-alerts"),
    Series: series, Bars: bars,
    Legend: [...document.querySelectorAll("#reason-legend li")].map((li) => li.textContent),
    Origins: [...document.querySelectorAll("#origins li")].map((li) => [li.querySelector(".text").textContent, li.querySelector(".count").textContent]),
    Alerts: [...document.querySelectorAll("#alerts tbody tr")].map((tr) => [...tr.cells].map((c) => c.textContent)),
    Images: document.querySelectorAll("img").length,
    Pwned: document.body.dataset.pwned === "1",
    Violations: window.__violations,
    YLabels: Object.fromEntries(["chart-requests", "chart-reasons"].map((id) => [id, [...document.querySelectorAll("#" + id + " text.y-label")].map((t) => t.textContent)])),
  };
})()`

func TestDashboardInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	m, c, f := newFixture(t)

	mux := http.NewServeMux()
	mux.Handle("/dashboard/", http.StripPrefix("/dashboard", dashboard.Handler(m)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancelTab()

	err := chromedp.Do(tab,
		chromedp.EmulateViewport(1280, 1000),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordViolations})
			return err
		}),
		chromedp.Navigate(srv.URL+"/dashboard/?refresh=1"),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitUpdates := func(n int) {
		t.Helper()
		_, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf("Number(document.body.dataset.updates || 0) >= %d", n), chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("the page did not render its data (update %d): %v", n, err)
		}
	}
	waitUpdates(1)

	d, err := chromedp.Run(tab, chromedp.Evaluate[rendered](readDOM))
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, n := range f.byReason {
		rejected += n
	}
	if d.Allowed != fmt.Sprint(f.allowed) || d.Rejected != fmt.Sprint(rejected) || d.ReportOnly != fmt.Sprint(f.reportOnly) || d.Active != "0" {
		t.Errorf("tiles allowed %s rejected %s report-only %s active %s; want %d %d %d 0", d.Allowed, d.Rejected, d.ReportOnly, d.Active, f.allowed, rejected, f.reportOnly)
	}
	if d.Series["allowed"] != fmt.Sprint(f.allowed) || d.Series["rejected"] != fmt.Sprint(rejected) {
		t.Errorf("request chart totals %v, want allowed %d rejected %d", d.Series, f.allowed, rejected)
	}
	for reason, n := range f.byReason {
		if d.Bars[reason] != n {
			t.Errorf("reason chart: %s bars sum to %d, want %d", reason, d.Bars[reason], n)
		}
	}
	if len(d.Bars) != len(f.byReason) || len(d.Legend) != len(f.byReason) {
		t.Errorf("reason chart has %d reasons and legend %q; want %d", len(d.Bars), d.Legend, len(f.byReason))
	}
	if len(d.Origins) != len(f.byOrigin) {
		t.Fatalf("origins %q, want %d of them", d.Origins, len(f.byOrigin))
	}
	for i, o := range d.Origins {
		if o[1] != fmt.Sprint(f.byOrigin[o[0]]) {
			t.Errorf("origin %d: %q listed with %s, want %d", i, o[0], o[1], f.byOrigin[o[0]])
		}
	}
	if d.Origins[0][0] != "https://evil.example" {
		t.Errorf("top origin %q, want https://evil.example", d.Origins[0][0])
	}
	if d.Images != 0 || d.Pwned {
		t.Errorf("an origin was inserted as markup: %d img elements, handler ran: %v", d.Images, d.Pwned)
	}
	if len(d.Alerts) != 2 || d.Alerts[0][1] != "resolved" || d.Alerts[1][1] != "firing" || d.Alerts[1][2] != "origin-rejections" {
		t.Errorf("alerts table %q, want the origin alert resolved then raised", d.Alerts)
	}
	for chart, labels := range d.YLabels {
		if err := evenAxis(labels); err != nil {
			t.Errorf("%s: y-axis labels %q: %v", chart, labels, err)
		}
	}
	if len(d.Violations) != 0 {
		t.Errorf("Content-Security-Policy violations: %q", d.Violations)
	}

	// The page refreshes on its own: new traffic appears without a reload.
	c.Advance(time.Second)
	for range 70 {
		m.Observe(forgeproof.Event{Decision: forgeproof.Denied, Reason: forgeproof.ReasonOriginMismatch, Origin: "https://new.example"})
	}
	_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.querySelector("#active-alerts").textContent === "1"`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("the page did not show the new alert: %v", err)
	}

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() < 600 {
		t.Errorf("screenshot is %v, want 1280 wide and at least 600 high", b)
	}
	path := filepath.Join(t.TempDir(), "dashboard.png")
	if *update {
		path = filepath.Join("..", "..", "..", "..", "docs", "img", "dashboard.png")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// evenAxis checks y-axis labels: whole numbers from 0 up in one constant
// step, at least two of them.
func evenAxis(labels []string) error {
	if len(labels) < 2 {
		return fmt.Errorf("want at least two labels")
	}
	step := 0
	for i, l := range labels {
		n, err := strconv.Atoi(l)
		if err != nil {
			return fmt.Errorf("label %q is not a whole number", l)
		}
		if i == 1 {
			step = n
		}
		if n != i*step || (i > 0 && step <= 0) {
			return fmt.Errorf("label %d is %d; want 0 and multiples of one step", i, n)
		}
	}
	return nil
}
