package bridge_test

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/bridgetest"
	"github.com/batos/batos/bridge/wire"
	zmq "github.com/pebbe/zmq4"
)

// rawEcho is the baseline: one goroutine owning a pebbe/zmq4 ROUTER that
// sends every message straight back, with no decoding and no workers.
func rawEcho(b *testing.B) string {
	zctx, err := zmq.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	router, _ := zctx.NewSocket(zmq.ROUTER)
	router.SetLinger(0)
	router.SetRcvhwm(1000)
	router.SetSndhwm(1000)
	if err := router.Bind("tcp://127.0.0.1:*"); err != nil {
		b.Fatal(err)
	}
	ep, _ := router.GetLastEndpoint()
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		poller := zmq.NewPoller()
		poller.Add(router, zmq.POLLIN)
		for {
			select {
			case <-done:
				return
			default:
			}
			if p, err := poller.Poll(50 * time.Millisecond); err != nil || len(p) == 0 {
				continue
			}
			for {
				frames, err := router.RecvMessageBytes(zmq.DONTWAIT)
				if err != nil {
					break
				}
				router.SendMessageDontwait(frames)
			}
		}
	}()
	b.Cleanup(func() {
		close(done)
		<-stopped
		router.Close()
		zctx.Term()
	})
	return ep
}

var noop = bridge.HandlerFunc(func(ctx context.Context, req *wire.Request) *wire.Reply {
	return wire.OK(nil)
})

// BenchmarkRoundTrip measures a DEALER client against the bridge with a
// no-op handler and against the raw echo, in the same run: sequential
// (one request in flight; p50/p99 latency) and pipelined (a window of 128).
func BenchmarkRoundTrip(b *testing.B) {
	payload := bridgetest.BlueprintDispatch()
	servers := []struct {
		name string
		ep   func(b *testing.B) string
	}{
		{"raw", rawEcho},
		{"bridge", func(b *testing.B) string { return serve(b, noop, bridge.Options{}).Endpoint() }},
	}
	for _, srv := range servers {
		b.Run(srv.name+"/sequential", func(b *testing.B) {
			d := newRaw(b, zmq.DEALER, srv.ep(b))
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				t0 := time.Now()
				d.send(b, []byte{}, payload)
				if _, err := d.sock.RecvMessageBytes(0); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			reportCPU(b, cpu0)
			reportLatency(b, lat)
		})
		b.Run(srv.name+"/pipelined", func(b *testing.B) {
			d := newRaw(b, zmq.DEALER, srv.ep(b))
			const window = 128
			b.ResetTimer()
			cpu0 := cpuTime()
			sent := 0
			for ; sent < min(window, b.N); sent++ {
				d.send(b, []byte{}, payload)
			}
			for range b.N {
				if _, err := d.sock.RecvMessageBytes(0); err != nil {
					b.Fatal(err)
				}
				if sent < b.N {
					d.send(b, []byte{}, payload)
					sent++
				}
			}
			b.StopTimer()
			reportCPU(b, cpu0)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// cpuTime is the process's user+system CPU time: every thread, the
// client's, the server's and libzmq's I/O threads alike. CPU per message
// is steadier than wall time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/1000, "cpu-µs/op")
}

// BenchmarkClientCall measures the Go client (pool, correlation frame,
// encode and decode) against the bridge with a no-op handler.
func BenchmarkClientCall(b *testing.B) {
	s := serve(b, noop, bridge.Options{})
	c := dial(b, s.Endpoint(), bridge.ClientOptions{})
	req := msg("display_yourself")
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			t0 := time.Now()
			if _, err := c.Call(ctx, req); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		reportLatency(b, lat)
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Call(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "msgs/s")
}
