package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

// chromium finds the browser make deps installs (Debian's chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BATOS_NO_BROWSER") == "1" {
		t.Skip("BATOS_NO_BROWSER=1: no browser test")
	}
	t.Fatal("no Chromium found: install it (make deps does: apt-get install chromium), or set BATOS_NO_BROWSER=1 to skip the browser tests")
	return ""
}

// The inspector in a real headless Chromium against the real daemon on
// the demo model: send display_yourself from the page, watch the cycle
// reach COMPLETE live (the page never reloads: only the event stream
// moves it), open genesis_obj and see the installed method's source and
// its verdict, follow the link to its cycle and see the timeline. A
// hostile slot value renders as text. Screenshots of the object page and
// the cycle page are checked; BATOS_UPDATE_DOCS=1 copies them to docs/.
func TestInspectorBrowser(t *testing.T) {
	exe := chromium(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	endpoint := freeEndpoint(t)
	d := startDaemon(t, t.TempDir(), endpoint, "-http", addr)
	d.waitLog("[HTTP] serving", time.Minute)

	// A hostile slot: markup that would run script if it were rendered
	// as HTML.
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const hostile = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`
	call(t, c, &wire.Request{Command: wire.CmdSetSlot, Target: wire.Named("genesis_obj"), Slot: "motto", Value: wire.Value{V: hostile}})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 6*time.Minute)
	defer cancel()
	base := "http://" + addr + "/"

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nbatosd log:\n%s", what, err, d.logText())
		}
	}

	// Send from the page; it follows the new cycle.
	do("send from the page",
		chromedp.Navigate(base+"#/send"),
		chromedp.WaitVisible(`#send-button`),
		chromedp.WaitVisible(`#live:not(.off)`),
		chromedp.SetValue(`input[name=selector]`, "display_yourself"),
		chromedp.Click(`#send-button`),
		chromedp.WaitVisible(`body[data-route^="cycle/"]`))
	hash := browse(t, ctx, chromedp.Evaluate[string](`location.hash`))
	m := regexp.MustCompile(`^#/cycle/(\d+)$`).FindStringSubmatch(hash)
	if m == nil {
		t.Fatalf("after send the page is at %q, not a cycle", hash)
	}
	cycleID := m[1]
	do("waiting for the cycle to complete live", chromedp.WaitVisible(`#cycle-status .badge.complete`))
	status := browse(t, ctx, chromedp.Text(`#cycle-status`))
	events := browse(t, ctx, chromedp.Evaluate[string](`document.body.dataset.events || "0"`))
	trace := browse(t, ctx, chromedp.Text(`ul.trace`))
	if status != "complete" || events == "0" {
		t.Errorf("cycle %s: status %q after %s live events", cycleID, status, events)
	}
	if !strings.Contains(trace, "Cycle") || !strings.Contains(trace, "COMPLETE") {
		t.Errorf("the trace lacks the cycle's lines:\n%s", trace)
	}

	// The object page: the method ALFRED wrote, with its source and
	// verdict, and the hostile slot as text.
	const method = `.method[data-method="display_yourself"]`
	do("object page", chromedp.Navigate(base+"#/object/genesis_obj"), chromedp.WaitVisible(method+` pre.source`))
	source := browse(t, ctx, chromedp.Text(method+` pre.source`))
	verdict := browse(t, ctx, chromedp.Text(method+` .badge`))
	author := browse(t, ctx, chromedp.Text(method+` .author`))
	motto := browse(t, ctx, chromedp.Text(`tr[data-slot="motto"] td.preview`))
	title := browse(t, ctx, chromedp.Title())
	objectShot := browse(t, ctx, chromedp.FullScreenshot(100))
	if !strings.Contains(source, "def display_yourself(self") {
		t.Errorf("installed method source:\n%s", source)
	}
	if verdict != "passed" || author != "ALFRED" {
		t.Errorf("method verdict %q, author %q", verdict, author)
	}
	if !strings.Contains(motto, "<script>") || title == "pwned" {
		t.Errorf("hostile slot rendered as markup: text %q, title %q", motto, title)
	}

	// Its cycle, through the method's link: the timeline to scale.
	do("cycle page", chromedp.Click(method+` a.cycle-link`), chromedp.WaitVisible(`svg.timeline rect.state-bar`))
	bars := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.timeline rect.state-bar").length`))
	hash = browse(t, ctx, chromedp.Evaluate[string](`location.hash`))
	cycleShot := browse(t, ctx, chromedp.FullScreenshot(100))
	if hash != "#/cycle/"+cycleID {
		t.Errorf("the method's cycle link leads to %q, want cycle %s", hash, cycleID)
	}
	if bars < 4 {
		t.Errorf("timeline has %d state bars, want IDLE, DECOMPOSING, DELEGATING, SYNTHESIZING, COMPLETE", bars)
	}

	// The status page: the counters and a bar for the cycle in each chart.
	do("status page", chromedp.Navigate(base+"#/"), chromedp.WaitVisible(`.card[data-k="done"]`))
	done := browse(t, ctx, chromedp.Text(`.card[data-k="done"] .v`))
	chartBars := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart-svg rect").length`))
	if done != "1" || chartBars != 2 {
		t.Errorf("status page: %q cycles done, %d chart bars", done, chartBars)
	}

	dir := t.TempDir()
	for name, shot := range map[string][]byte{"inspector-object.png": objectShot, "inspector-cycle.png": cycleShot} {
		checkScreenshot(t, name, shot)
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if os.Getenv("BATOS_UPDATE_DOCS") == "1" {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", name), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// browse runs one browser action that answers a value.
func browse[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkScreenshot fails unless shot is a PNG of a real page: large, and
// of many colors (a blank or error page has a handful).
func checkScreenshot(t *testing.T, name string, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("%s: %dx%d", name, b.Dx(), b.Dy())
	}
	if n := colors(img, 1000); n < 20 {
		t.Errorf("%s: only %d colors: a blank page?", name, n)
	}
}

// colors counts the distinct colors of img, up to limit.
func colors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
