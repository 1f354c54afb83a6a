package web

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
)

// favicon is /favicon.ico: browsers ask for it on every page view, and a
// 404 for each would fill the log. It is a 32×32 speech bubble in the
// page's accent colour, drawn here and stored as an ICO holding one PNG
// image (which every current browser reads).
var favicon = buildFavicon()

func buildFavicon() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	accent := color.NRGBA{0x24, 0x57, 0xc5, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	inRounded := func(x, y, x0, y0, x1, y1, r int) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx, cy := min(max(x, x0+r), x1-r), min(max(y, y0+r), y1-r)
		dx, dy := x-cx, y-cy
		return dx*dx+dy*dy <= r*r
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			switch {
			case inRounded(x, y, 2, 3, 29, 23, 6):
				img.SetNRGBA(x, y, accent)
			case y > 23 && y <= 29 && x >= 8 && x <= 8+(29-y): // the bubble's tail
				img.SetNRGBA(x, y, accent)
			}
		}
	}
	for _, line := range [][3]int{{8, 23, 10}, {8, 19, 15}} { // two lines of "text"
		for x := line[0]; x <= line[1]; x++ {
			for y := line[2]; y < line[2]+2; y++ {
				img.SetNRGBA(x, y, white)
			}
		}
	}
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		panic(err)
	}
	var ico bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image.
	binary.Write(&ico, binary.LittleEndian, [3]uint16{0, 1, 1})
	// ICONDIRENTRY: width, height, colours, reserved, planes, bit count,
	// size of the image data, offset of it (6 + 16).
	ico.Write([]byte{n, n, 0, 0})
	binary.Write(&ico, binary.LittleEndian, [2]uint16{1, 32})
	binary.Write(&ico, binary.LittleEndian, [2]uint32{uint32(pngData.Len()), 22})
	ico.Write(pngData.Bytes())
	return ico.Bytes()
}
