package ops

import "testing"

func TestGlom(t *testing.T) {
	got, err := run(t, Glom, nil,
		batch(1000, []string{"1", "x"}, []string{"k\tv", `{"a":1}`, "[1", "true"}, nil),
		more(batch(2000, []string{"a"}, []string{})), more(batch(2000, []string{"b"}, []string{"c"})), batch(2000, nil, nil),
		batch(3000))
	want := "1000: [1,\"x\"]|[[\"k\",\"v\"],{\"a\":1},\"[1\",true]|[]\n2000: [\"a\",\"b\"]|[\"c\"]\n3000: "
	if err != nil || got != want {
		t.Errorf("got  %q, %v\nwant %q", got, err, want)
	}
}
