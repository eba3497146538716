;; Zero padding of images, for the convolutions that read the padded image in place (conv.wat, pool-filter-grad.wat,
;; winograd.wat): whole planes (padPlanes), or strips of rows of them that Winograd's tiles pad as they come to them
;; (stripRows, stripRowAt; also into a strip whose zeros are already in place); padRows pads the image rows of both,
;; copyRows copies them.

  ;; Planes [p0, p1) of H x W floats at $src -> planes of Hq x Wq floats at $dst (Hq >= H + pad, Wq >= W + pad), the
  ;; image at row and column $pad, every other float 0 (winograd.wat's tiles read past the image's far edges too). Each
  ;; float of a plane is written once: the rows above and below the image zeroed whole, each image row's left and right
  ;; margins around its copy (padRows). Zeroing the whole plane first
  ;; and copying over it wrote the image twice (the zeroing was half the padding's time). The same copy in JavaScript,
  ;; element by element into the shared memory, cost ~1 ms of DoubleConvNet's step. Split across the threads by planes
  ;; (pad.ts).
  (func $padPlanes (export "padPlanes")
    (param $p0 i32) (param $p1 i32) (param $src i32) (param $H i32) (param $W i32) (param $pad i32) (param $dst i32) (param $Hq i32) (param $Wq i32)
    (local $pl i32) (local $s i32) (local $base i32)
    (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (i32.mul (local.get $p0) (local.get $H)) (local.get $W)) (i32.const 2))))
    (local.set $pl (local.get $p0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $p1)))
        (local.set $base (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $pl) (local.get $Hq)) (local.get $Wq)) (i32.const 2))))
        ;; the rows above the image
        (call $zeroF32 (local.get $base) (i32.mul (local.get $pad) (local.get $Wq)))
        (call $padRows (i32.add (local.get $base) (i32.shl (i32.mul (local.get $pad) (local.get $Wq)) (i32.const 2))) (local.get $s) (local.get $H)
          (local.get $W) (local.get $pad) (local.get $Wq))
        (local.set $s (i32.add (local.get $s) (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2))))
        ;; the rows below the image
        (call $zeroF32 (i32.add (local.get $base) (i32.shl (i32.mul (i32.add (local.get $pad) (local.get $H)) (local.get $Wq)) (i32.const 2)))
          (i32.mul (i32.sub (local.get $Hq) (i32.add (local.get $pad) (local.get $H))) (local.get $Wq)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))

  ;; $rows padded rows of $Wq floats from $dst: each $pad zeros, the $W floats of an image row (rows from $src, W floats
  ;; apart), zeros to the row's end. By vectors where rows have 4 floats or more (every Winograd row): the vectors that
  ;; hold a margin zeroed first (the left margin's from the row's start; those from the image's end, the last one ending
  ;; at the row's end), then the image copied over them, its last vector ending at the image's end; nothing is written
  ;; outside the rows. With
  ;; its margins float by float and a scalar tail, and a call per row, it took ~7% of resnet's step in strips (28 floats
  ;; in rows of 36).
  (func $padRows (param $dst i32) (param $src i32) (param $rows i32) (param $W i32) (param $pad i32) (param $Wq i32)
    (local $r i32) (local $d i32) (local $s i32) (local $j i32) (local $end i32) (local $rowEnd i32) (local $zeros0 i32) (local $last i32)
    (if (i32.and (i32.ge_u (local.get $W) (i32.const 4)) (i32.ge_u (local.get $Wq) (i32.const 4)))
      (then
        ;; per row: zeros from float zeros0 (the vector holding the image's end) on, the image's last vector at float last
        (local.set $zeros0 (i32.shl (i32.and (i32.add (local.get $pad) (local.get $W)) (i32.const -4)) (i32.const 2)))
        (local.set $last (i32.shl (i32.sub (local.get $W) (i32.const 4)) (i32.const 2)))
        (block $rdone
          (loop $rloop
            (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $rowEnd (i32.add (local.get $dst) (i32.shl (local.get $Wq) (i32.const 2))))
            ;; the left margin's vectors (one while pad <= 4; the last may reach into the image, copied over it below)
            (local.set $j (local.get $dst))
            (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $pad) (i32.const 2))))
            (block $ldone
              (loop $lloop
                (br_if $ldone (i32.ge_u (local.get $j) (local.get $end)))
                (v128.store (local.get $j) (v128.const i32x4 0 0 0 0))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $lloop)))
            (local.set $j (i32.add (local.get $dst) (local.get $zeros0)))
            (local.set $end (i32.sub (local.get $rowEnd) (i32.const 16)))
            (block $zdone
              (loop $zloop
                (br_if $zdone (i32.gt_u (local.get $j) (local.get $end)))
                (v128.store (local.get $j) (v128.const i32x4 0 0 0 0))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $zloop)))
            (if (i32.lt_u (local.get $j) (local.get $rowEnd)) (then (v128.store (local.get $end) (v128.const i32x4 0 0 0 0))))
            ;; the image over them
            (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $pad) (i32.const 2))))
            (local.set $end (i32.add (local.get $src) (local.get $last)))
            (local.set $s (local.get $src))
            (block $vdone
              (loop $vloop
                (br_if $vdone (i32.ge_u (local.get $s) (local.get $end)))
                (v128.store (local.get $d) (v128.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (i32.const 16)))
                (local.set $d (i32.add (local.get $d) (i32.const 16)))
                (br $vloop)))
            (v128.store (i32.add (i32.add (local.get $dst) (i32.shl (local.get $pad) (i32.const 2))) (local.get $last)) (v128.load (local.get $end)))
            (local.set $src (i32.add (local.get $src) (i32.shl (local.get $W) (i32.const 2))))
            (local.set $dst (local.get $rowEnd))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rloop)))
        (return)))
    ;; rows of fewer than 4 floats: float by float
    (block $sdone
      (loop $srows
        (br_if $sdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $rowEnd (i32.add (local.get $dst) (i32.shl (local.get $Wq) (i32.const 2))))
        (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $pad) (i32.const 2))))
        (block $ldone
          (loop $lloop
            (br_if $ldone (i32.ge_u (local.get $dst) (local.get $end)))
            (f32.store (local.get $dst) (f32.const 0))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (br $lloop)))
        (local.set $end (i32.add (local.get $src) (i32.shl (local.get $W) (i32.const 2))))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $src) (local.get $end)))
            (f32.store (local.get $dst) (f32.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (br $cloop)))
        (block $zdone2
          (loop $zloop2
            (br_if $zdone2 (i32.ge_u (local.get $dst) (local.get $rowEnd)))
            (f32.store (local.get $dst) (f32.const 0))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (br $zloop2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $srows))))

  ;; Rows [$q0, $q0 + $rows) of the padded planes of $C channels, as padPlanes would make them (planes of $H x $W floats
  ;; from $src, the image at row and column $pad, rows of $Wq floats), to $dst channel after channel ($rows x $Wq floats
  ;; each): a strip of the padded input small enough to stay in the cache while Winograd's groups read it (winograd.wat's
  ;; $winogradTiles and $winogradDwTiles), instead of a padded copy of the whole input, a pass over memory that misses the
  ;; cache and is read back. With $zeros 0, the image rows alone, into a strip whose zeros are already in place: one made
  ;; with the same arguments but $src ($winogradDwTiles pads a block's rows of one channel after another into the same
  ;; strip). The image rows alone took 0.75x, 0.55x and 0.4x as long as padding them at 28x28, 14x14 and 7x7 (one
  ;; image's planes, pad 1, the padded widths of F(4x4, 3x3)).
  ;; What the copies cost is the memory they read: resnet's training step (batch 100, one thread) copies 126.8 MB of
  ;; image rows into strips where the tensors they come from hold 125.4 MB (each once a pass; 134.1 MB at 2 threads,
  ;; where the 7x7 filter gradient's two ranges of filters each copy x), and with their sources in the cache the filter
  ;; gradient was 1.13x faster at 28x28, 1.05x at 14x14. Every channel's rows in one copyRows call, rows of up to 16
  ;; floats without the vector loop, the filter gradient's strips of many channels at once (longer runs to read), and
  ;; the next rows loaded ahead of their strip between the transforms or the sums (wasm has no prefetch) measured
  ;; 0.90x-1.03x per pass, within the noise or slower.
  (func $stripRows
    (param $src i32) (param $C i32) (param $H i32) (param $W i32) (param $pad i32) (param $q0 i32) (param $rows i32) (param $Wq i32) (param $dst i32)
    (param $zeros i32)
    (local $c i32) (local $rLo i32) (local $rHi i32) (local $planeBytes i32) (local $first i32)
    (local.set $planeBytes (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    ;; the strip's rows [rLo, rHi) hold image rows (from image row q0 + rLo - pad), those above and below zeros
    (local.set $rLo (i32.sub (local.get $pad) (local.get $q0)))
    (if (i32.lt_s (local.get $rLo) (i32.const 0)) (then (local.set $rLo (i32.const 0))))
    (if (i32.gt_s (local.get $rLo) (local.get $rows)) (then (local.set $rLo (local.get $rows))))
    (local.set $rHi (i32.sub (i32.add (local.get $H) (local.get $pad)) (local.get $q0)))
    (if (i32.gt_s (local.get $rHi) (local.get $rows)) (then (local.set $rHi (local.get $rows))))
    (if (i32.lt_s (local.get $rHi) (local.get $rLo)) (then (local.set $rHi (local.get $rLo))))
    (local.set $first (i32.add (local.get $src) (i32.shl (i32.mul (i32.sub (i32.add (local.get $q0) (local.get $rLo)) (local.get $pad)) (local.get $W)) (i32.const 2))))
    (block $cdone
      (loop $channels
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
        (if (i32.or (local.get $zeros) (i32.lt_u (local.get $W) (i32.const 4)))
          (then
            (call $zeroF32 (local.get $dst) (i32.mul (local.get $rLo) (local.get $Wq)))
            (call $padRows (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $rLo) (local.get $Wq)) (i32.const 2))) (local.get $first)
              (i32.sub (local.get $rHi) (local.get $rLo)) (local.get $W) (local.get $pad) (local.get $Wq))
            (call $zeroF32 (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $rHi) (local.get $Wq)) (i32.const 2))) (i32.mul (i32.sub (local.get $rows) (local.get $rHi)) (local.get $Wq))))
          (else
            (call $copyRows (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $rLo) (local.get $Wq)) (local.get $pad)) (i32.const 2))) (local.get $first)
              (i32.sub (local.get $rHi) (local.get $rLo)) (local.get $W) (local.get $Wq))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $rows) (local.get $Wq)) (i32.const 2))))
        (local.set $first (i32.add (local.get $first) (local.get $planeBytes)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $channels))))

  ;; $rows rows of $W floats (W >= 4) from $src (W floats apart) to $dst (rows $Wq floats apart) by vectors, the last
  ;; ending at the row's end (over the one before where W is no multiple of 4); nothing else is written: padRows' copy,
  ;; without its margins. (padRows keeps its own, row by row after each row's margins: zeroing every row's margins
  ;; first and then copying the rows here took 1.15x as long.)
  (func $copyRows (param $dst i32) (param $src i32) (param $rows i32) (param $W i32) (param $Wq i32)
    (local $r i32) (local $s i32) (local $d i32) (local $end i32) (local $last i32)
    (local.set $last (i32.shl (i32.sub (local.get $W) (i32.const 4)) (i32.const 2)))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $end (i32.add (local.get $src) (local.get $last)))
        (local.set $s (local.get $src))
        (local.set $d (local.get $dst))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $s) (local.get $end)))
            (v128.store (local.get $d) (v128.load (local.get $s)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br $vloop)))
        (v128.store (i32.add (local.get $dst) (local.get $last)) (v128.load (local.get $end)))
        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $W) (i32.const 2))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $Wq) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop))))

  ;; Where padded row $oy of image $n's first channel starts in the strip at $strip ($stripRows padded rows of $Wq floats
  ;; in each of $C channels, as $stripRows makes them from the image planes H x W at $x, padded by $pad), making the strip again
  ;; from row $oy when it does not hold rows [$oy, $oy + $need) of image $n. The two i32 at $state say which image and
  ;; first row it holds (-1: none yet). Winograd's groups come in order, so a strip of one group row ($stripRows = $need)
  ;; is made once per group row, one of a whole padded image once per image (and chunk of groups): after the first, the
  ;; image rows alone (stripRows), since the zeros of a strip from the same row are where they were.
  (func $stripRowAt
    (param $state i32) (param $x i32) (param $n i32) (param $C i32) (param $H i32) (param $W i32) (param $pad i32) (param $oy i32) (param $need i32)
    (param $stripRows i32) (param $Wq i32) (param $strip i32) (result i32)
    (local $q0 i32)
    (local.set $q0 (i32.load offset=4 (local.get $state)))
    (if (i32.or (i32.ne (local.get $n) (i32.load (local.get $state)))
          (i32.or (i32.lt_s (local.get $oy) (local.get $q0)) (i32.gt_s (i32.add (local.get $oy) (local.get $need)) (i32.add (local.get $q0) (local.get $stripRows)))))
      (then
        ;; the zeros are in place where the strip held rows from the same first row (of another image; -1: none yet)
        (call $stripRows (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $n) (local.get $C)) (local.get $H)) (local.get $W)) (i32.const 2)))
          (local.get $C) (local.get $H) (local.get $W) (local.get $pad) (local.get $oy) (local.get $stripRows) (local.get $Wq) (local.get $strip)
          (i32.or (i32.lt_s (i32.load (local.get $state)) (i32.const 0)) (i32.ne (local.get $q0) (local.get $oy))))
        (i32.store (local.get $state) (local.get $n))
        (i32.store offset=4 (local.get $state) (local.get $oy))
        (local.set $q0 (local.get $oy))))
    (i32.add (local.get $strip) (i32.shl (i32.mul (i32.sub (local.get $oy) (local.get $q0)) (local.get $Wq)) (i32.const 2))))
