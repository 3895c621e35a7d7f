package source

import (
	"context"
	"io"
	"os"
)

// Input is one input of a line source: a file, stdin or a connection.
type Input struct {
	Name string // for messages: the file name, "stdin", an address
	Open func() (io.ReadCloser, error)
}

// FileInputs returns the inputs for positional FILE arguments: the files in
// order, "-" meaning stdin; no names means stdin alone.
func FileInputs(names []string, stdin io.Reader) []Input {
	if len(names) == 0 {
		names = []string{"-"}
	}
	ins := make([]Input, len(names))
	for i, name := range names {
		ins[i] = FileInput(name, stdin)
	}
	return ins
}

// FileInput returns the input for one FILE argument ("-" is stdin).
func FileInput(name string, stdin io.Reader) Input {
	if name == "-" {
		return Input{Name: "stdin", Open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }}
	}
	return Input{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(name) }}
}

// Reading in big chunks keeps system calls and channel hand-offs rare; a
// few buffers let the reader run ahead while a chunk is split.
const (
	chunkSize    = 1 << 20
	chunkBuffers = 4
)

// chunk is a piece of an input. Every input yields at least one chunk; the
// first has first set, the last has end set (both may be the same, empty,
// chunk). A failed read is a chunk with err set, and the last one.
type chunk struct {
	name  string
	data  []byte
	first bool
	end   bool
	err   error
	buf   []byte // to give back to the reader when data is consumed
}

// chunkReader reads inputs in order in its own goroutine, so the consumer
// can wait for input, a timer and cancellation at once.
type chunkReader struct {
	C    <-chan chunk
	free chan []byte
}

func startReader(ctx context.Context, inputs []Input) *chunkReader {
	c := make(chan chunk)
	r := &chunkReader{C: c, free: make(chan []byte, chunkBuffers)}
	for range chunkBuffers {
		r.free <- make([]byte, chunkSize)
	}
	go r.run(ctx, inputs, c)
	return r
}

// Release gives a chunk's buffer back once its data is consumed.
func (r *chunkReader) Release(c chunk) {
	if c.buf != nil {
		r.free <- c.buf
	}
}

// run sends the chunks of every input, then closes c: the end of input.
func (r *chunkReader) run(ctx context.Context, inputs []Input, c chan<- chunk) {
	defer close(c)
	send := func(ch chunk) bool {
		select {
		case c <- ch:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, in := range inputs {
		f, err := in.Open()
		if err != nil {
			send(chunk{name: in.Name, err: err})
			return
		}
		first := true
		for {
			var buf []byte
			select {
			case buf = <-r.free:
			case <-ctx.Done():
				f.Close()
				return
			}
			n, err := f.Read(buf)
			if err != nil && err != io.EOF {
				f.Close()
				send(chunk{name: in.Name, err: err})
				return
			}
			ch := chunk{name: in.Name, data: buf[:n], first: first, end: err == io.EOF, buf: buf}
			first = false
			if !send(ch) {
				f.Close()
				return
			}
			if err == io.EOF {
				break
			}
		}
		f.Close()
	}
}
