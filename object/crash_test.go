package object

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "BATOS_OBJECT_CRASH_CHILD"

// TestMain lets the test binary act as the crash test's child process.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild commits transactions and writes blobs forever, printing each
// acknowledgement after it returns.
func crashChild(dir string) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	var a, b OID
	var n int64
	err = s.Update(ctx, func(tx *Tx) error {
		if oa, err := tx.Root("a"); err == nil {
			a = oa
			b, _ = tx.Root("b")
			o, err := tx.Get(a)
			if err != nil {
				return err
			}
			n = int64(o.Slots["n"].(Int))
			return nil
		}
		oa, _ := tx.New(map[string]Value{"n": Int(0)})
		ob, _ := tx.New(map[string]Value{"n": Int(0)})
		a, b = oa.OID, ob.OID
		if err := tx.SetRoot("a", a); err != nil {
			return err
		}
		return tx.SetRoot("b", b)
	})
	if err != nil {
		return err
	}
	for {
		n++
		err := s.Update(ctx, func(tx *Tx) error {
			for _, oid := range []OID{a, b} {
				o, err := tx.Get(oid)
				if err != nil {
					return err
				}
				o.Set("n", Int(n))
				o.Set("pad", Bytes(make([]byte, 512)))
				if err := tx.Put(o); err != nil {
					return err
				}
			}
			return tx.SetKV(binary.BigEndian.AppendUint64([]byte("c/"), uint64(n)), []byte("x"))
		})
		if err != nil {
			return err
		}
		fmt.Printf("tx %d\n", n)
		if n%4 == 0 {
			size := int64(BlobChunkSize/2 + int(n%5)*BlobChunkSize)
			ref, err := s.PutBlob(ctx, newPRNG(byte(n), size))
			if err != nil {
				return err
			}
			err = s.Update(ctx, func(tx *Tx) error {
				o, err := tx.Get(a)
				if err != nil {
					return err
				}
				o.Set("blob_"+strconv.FormatInt(n, 10), ref)
				return tx.Put(o)
			})
			if err != nil {
				return err
			}
			fmt.Printf("blob %d %d %x\n", n, ref.ID, ref.SHA256)
		}
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var lastTx int64
	blobs := map[uint64]string{} // acknowledged blob id -> sha256 hex
	for round := range 20 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan []string)
		first := make(chan struct{}) // the child's first acknowledgement
		go func() {
			var got []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if len(got) == 0 {
					close(first)
				}
				got = append(got, sc.Text())
			}
			if len(got) == 0 {
				close(first)
			}
			lines <- got
		}()
		// The kill comes at a random point of the child's work, counted
		// from its first commit: on a loaded machine (a race build, other
		// tests) its start alone can take longer than the window.
		select {
		case <-first:
		case <-time.After(time.Minute):
		}
		time.Sleep(time.Duration(150+rand.IntN(350)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		got := <-lines
		cmd.Wait()
		for _, l := range got {
			f := strings.Fields(l)
			switch {
			case len(f) == 2 && f[0] == "tx":
				lastTx, _ = strconv.ParseInt(f[1], 10, 64)
			case len(f) == 4 && f[0] == "blob":
				id, _ := strconv.ParseUint(f[2], 10, 64)
				blobs[id] = f[3]
			}
		}
		checkCrashState(t, dir, round, lastTx, blobs)
	}
	if lastTx == 0 || len(blobs) == 0 {
		t.Fatalf("the child acknowledged %d transactions and %d blobs; the test exercised nothing", lastTx, len(blobs))
	}
	t.Logf("20 kills: %d transactions and %d blobs acknowledged and found", lastTx, len(blobs))
}

func checkCrashState(t *testing.T, dir string, round int, lastTx int64, blobs map[uint64]string) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.View(ctx, func(tx *Tx) error {
		a, err := tx.Root("a")
		if errors.Is(err, ErrNotFound) && lastTx == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		b, _ := tx.Root("b")
		oa, err := tx.Get(a)
		if err != nil {
			return err
		}
		ob, err := tx.Get(b)
		if err != nil {
			return err
		}
		na, nb := int64(oa.Slots["n"].(Int)), int64(ob.Slots["n"].(Int))
		if na != nb {
			return fmt.Errorf("partial transaction: a.n=%d b.n=%d", na, nb)
		}
		if na < lastTx {
			return fmt.Errorf("acknowledged transaction %d lost (found %d)", lastTx, na)
		}
		var keys int64
		if err := tx.ScanKV([]byte("c/"), func(k, _ []byte) error {
			keys++
			if i := int64(binary.BigEndian.Uint64(k[2:])); i > na {
				return fmt.Errorf("key of transaction %d present but n=%d", i, na)
			}
			return nil
		}); err != nil {
			return err
		}
		if keys != na {
			return fmt.Errorf("%d commit keys for n=%d", keys, na)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	for id, sum := range blobs {
		ref, err := s.Blob(ctx, id)
		if err != nil {
			t.Fatalf("round %d: acknowledged blob %d: %v", round, id, err)
		}
		if fmt.Sprintf("%x", ref.SHA256) != sum {
			t.Fatalf("round %d: blob %d hash changed", round, id)
		}
		r, err := s.OpenBlob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			t.Fatalf("round %d: blob %d: %v", round, id, err)
		}
	}
	// No chunk without committed metadata survives Open.
	it, _ := s.db.NewIter(nil)
	defer it.Close()
	for ok := it.SeekGE([]byte{prefixChunk}); ok && it.Key()[0] == prefixChunk; ok = it.Next() {
		id := binary.BigEndian.Uint64(it.Key()[1:9])
		if _, err := s.Blob(ctx, id); err != nil {
			t.Fatalf("round %d: orphan chunk of blob %d remains", round, id)
		}
	}
}
