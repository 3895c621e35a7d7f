package source

import (
	"context"
	"fmt"
	"io"
	"net"

	"dstream/lib/stage"
)

// Socket is Spark's socketTextStream: it connects to an address and reads
// lines, batched by processing time, until the peer closes the connection
// (the end of input).
type Socket struct {
	cfg  LinesConfig
	addr string
	// inputs, when set, wraps the connection's input: a write-ahead log
	// (wal.go) reads its logged inputs first and logs the connection's.
	inputs func([]Input) []Input
}

// NewSocket returns the socket source; cfg.Inputs is ignored.
func NewSocket(addr string, cfg LinesConfig) *Socket { return &Socket{cfg: cfg, addr: addr} }

// Run implements stage.Source.
func (s *Socket) Run(ctx context.Context, out stage.Emitter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // a signal while connecting
		}
		return fmt.Errorf("--socket %s: %w", s.addr, err)
	}
	// Closing the connection is what unblocks a reader waiting in Read.
	go func() { <-ctx.Done(); conn.Close() }()
	ins := []Input{{Name: s.addr, Open: func() (io.ReadCloser, error) { return conn, nil }}}
	if s.inputs != nil {
		ins = s.inputs(ins)
	}
	rd := startReader(ctx, ins)
	return runProcLines(ctx, rd, s.cfg, out)
}
