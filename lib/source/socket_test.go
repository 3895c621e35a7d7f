package source

import (
	"context"
	"net"
	"strings"
	"testing"
)

func TestSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.Write([]byte("a\tb\nc\td\r\n"))
		conn.Close() // the end of input
	}()
	cfg := LinesConfig{Common: testCommon(nil), Line: LineConfig{Keyed: true}}
	var c collect
	if err := NewSocket(ln.Addr().String(), cfg).Run(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.batches(), "\n"); got != "1000: a=b c=d" {
		t.Errorf("got %q", got)
	}
}

func TestSocketRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	err = NewSocket(addr, LinesConfig{Common: testCommon(nil)}).Run(context.Background(), &collect{})
	if err == nil || !strings.HasPrefix(err.Error(), "--socket "+addr+": ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got %v", err)
	}
}

func TestSocketCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, _ := ln.Accept()
		accepted <- conn // keep it open: only cancellation ends the run
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewSocket(ln.Addr().String(), LinesConfig{Common: testCommon(nil)}).Run(ctx, &collect{})
	}()
	conn := <-accepted
	defer conn.Close()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
