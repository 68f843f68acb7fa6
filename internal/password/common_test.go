package password

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func TestIsCommon(t *testing.T) {
	if n := CommonCount(); n != 19727 {
		t.Fatalf("the bundled list has %d entries, want 19727", n)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"password1", true},
		{"PassWord1", true},  // case-insensitive
		{" iloveyou ", true}, // surrounding spaces do not make it new
		{"QWERTY123", true},
		{"letmein1", true},
		{"correct horse battery staple", false},
		{"pw-long-enough", false},
		{"", false},
	} {
		if got := IsCommon(tc.pw); got != tc.want {
			t.Errorf("IsCommon(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

func TestReadCommonRefusesAnUnsortedList(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte("zebra\napple\n"))
	_ = zw.Close()
	if _, err := readCommon(buf.Bytes()); err == nil {
		t.Fatal("an unsorted list was accepted: a binary search over it would miss entries")
	}
	if _, err := readCommon([]byte("not gzip")); err == nil {
		t.Fatal("a broken list was accepted")
	}
}

func BenchmarkIsCommon(b *testing.B) {
	IsCommon("warm-up")
	b.ReportAllocs()
	for b.Loop() {
		IsCommon("Correct-Horse-9")
	}
}
