package mailer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDirTransport writes mails into an outbox folder that is empty,
// and into one that already holds many mails, as a folder does after
// months of mail: the cost of a write must not grow with the folder.
func BenchmarkDirTransport(b *testing.B) {
	m := &Composed{From: "soporte+tok@example.com", Rcpts: []string{"c@x.example"}, Data: make([]byte, 12<<10)}
	for _, before := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("holding=%d", before), func(b *testing.B) {
			tr := DirTransport{Dir: b.TempDir()}
			for i := range before {
				if err := fill(tr, int64(i+1)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := tr.Send(context.Background(), int64(before+i+1), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fill puts a small file where row id's mail goes, without a flush.
func fill(tr DirTransport, id int64) error {
	p := filepath.Join(tr.Dir, FileName(id))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	return os.WriteFile(p, []byte("x"), 0o640)
}
