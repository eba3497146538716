;; The layout passes between a convolution's GEMM and NCHW tensors: the forward's C rows [N*P, FN] -> out [N, FN, P]
;; plus the bias ($rowsToNchw), and the filter gradient's B operand packed straight from dy [N, FN, P], with db
;; ($packDy; image by image for the threads by $packDyImages, which keeps db's terms for $replayDb, so db keeps its bits).

  ;; The convolution's layout change with its bias, per image n: C rows [N*P, FN] (row n*P + p, rows ldc >= FN
  ;; floats apart) -> out [N, FN, P], out[n, f, p] = C[n*P + p, f] + bias[f]. 4 x 4 blocks are transposed in registers with
  ;; shuffles (rows p0..p0+3 of columns f0..f0+3 become rows f0..f0+3 of columns p0..p0+3); the ragged
  ;; edges (FN or P not a multiple of 4) go element by element.
  (func $rowsToNchw (export "rowsToNchw")
    (param $c i32) (param $N i32) (param $P i32) (param $FN i32) (param $ldc i32) (param $bias i32) (param $out i32)
    (local $n i32) (local $f i32) (local $p i32) (local $cn i32) (local $on i32) (local $b v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $src i32) (local $dst i32) (local $fn4 i32) (local $p4 i32) (local $P4 i32) (local $row i32)
    (local.set $fn4 (i32.and (local.get $FN) (i32.const -4)))
    (local.set $p4 (i32.and (local.get $P) (i32.const -4)))
    (local.set $row (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $P4 (i32.shl (local.get $P) (i32.const 2)))
    (local.set $n (i32.const 0))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $cn (i32.add (local.get $c) (i32.mul (i32.mul (local.get $n) (local.get $P)) (local.get $row))))
        (local.set $on (i32.add (local.get $out) (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P4))))
        ;; whole 4 x 4 blocks
        (local.set $f (i32.const 0))
        (block $fdone
          (loop $floop
            (br_if $fdone (i32.ge_u (local.get $f) (local.get $fn4)))
            (local.set $b (v128.load (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
            (local.set $p (i32.const 0))
            (block $pdone
              (loop $ploop
                (br_if $pdone (i32.ge_u (local.get $p) (local.get $p4)))
                (local.set $src (i32.add (local.get $cn)
                  (i32.add (i32.mul (local.get $p) (local.get $row)) (i32.shl (local.get $f) (i32.const 2)))))
                (local.set $r0 (f32x4.add (local.get $b) (v128.load (local.get $src))))
                (local.set $src (i32.add (local.get $src) (local.get $row)))
                (local.set $r1 (f32x4.add (local.get $b) (v128.load (local.get $src))))
                (local.set $src (i32.add (local.get $src) (local.get $row)))
                (local.set $r2 (f32x4.add (local.get $b) (v128.load (local.get $src))))
                (local.set $src (i32.add (local.get $src) (local.get $row)))
                (local.set $r3 (f32x4.add (local.get $b) (v128.load (local.get $src))))
                (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                (local.set $dst (i32.add (local.get $on)
                  (i32.shl (i32.add (i32.mul (local.get $f) (local.get $P)) (local.get $p)) (i32.const 2))))
                (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
                (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
                (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
                (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $ploop)))
            (local.set $f (i32.add (local.get $f) (i32.const 4)))
            (br $floop)))
        ;; the ragged edges: columns f < fn4 for rows p >= p4, and every column f >= fn4
        (local.set $f (i32.const 0))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $f) (local.get $FN)))
            (local.set $p (select (local.get $p4) (i32.const 0) (i32.lt_u (local.get $f) (local.get $fn4))))
            (block $qdone
              (loop $qloop
                (br_if $qdone (i32.ge_u (local.get $p) (local.get $P)))
                (f32.store
                  (i32.add (local.get $on) (i32.shl (i32.add (i32.mul (local.get $f) (local.get $P)) (local.get $p)) (i32.const 2)))
                  (f32.add
                    (f32.load (i32.add (local.get $cn)
                      (i32.add (i32.mul (local.get $p) (local.get $row)) (i32.shl (local.get $f) (i32.const 2)))))
                    (f32.load (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $qloop)))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $eloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $nloop))))

  ;; The filter gradient's B operand straight from dy, per image n: dy [N, FN, P] -> packed panels of
  ;; B[r, f] = dy[n, f, p] with r = n*P + p (the layout $packB writes: panel f/8, row r, lane f mod 8), and
  ;; db[f] = sum over n, p of dy[n, f, p] (into $db, FN floats, which the caller zeroes). 4 x 4 blocks are
  ;; transposed in registers; the ragged edges go element by element. Lanes of the last panel past FN are
  ;; left as they are: the GEMM never stores them. $bp = 0: db alone, the same bits (a filter gradient by Winograd
  ;; reads dy itself, not the panels).
  (func $packDy (export "packDy")
    (param $dy i32) (param $N i32) (param $P i32) (param $FN i32) (param $bp i32) (param $db i32)
    (call $packDyImages (i32.const 0) (local.get $N) (local.get $dy) (i32.shl (i32.mul (local.get $FN) (local.get $P)) (i32.const 2))
      (i32.mul (local.get $N) (local.get $P)) (local.get $P) (local.get $FN) (local.get $bp) (local.get $db) (i32.const 0)))

  ;; $packDy for images [n0, n1) of dy [N, FN, P] (a thread's share): image n's panels' rows and, with $side, its db
  ;; terms at its own place in $side (see $packDyImages), so shares may run in any order; $replayDb then sums db.
  (func $packDyImageRange (export "packDyImageRange")
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $N i32) (param $P i32) (param $FN i32) (param $bp i32) (param $db i32) (param $side i32)
    (call $packDyImages (local.get $n0) (local.get $n1)
      (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $FN)) (local.get $P)) (i32.const 2)))
      (i32.shl (i32.mul (local.get $FN) (local.get $P)) (i32.const 2))
      (i32.mul (local.get $N) (local.get $P)) (local.get $P) (local.get $FN) (local.get $bp) (local.get $db) (local.get $side)))

  ;; $packDy for images [n0, n1) of a batch of R / P images: image n's dy [FN, P] at dy + (n - n0) * dyImg bytes
  ;; (dyImg 0: every image from the same place, a one-image scratch), its rows n*P .. of the packed panels.
  ;; With $side = 0 each image's sums go into db at once, so images must come in order. Otherwise they are kept
  ;; for $replayDb, which adds them to db in that order later (so threads can pack images in any order): image n's
  ;; $sideFloats at side + 4*n*$sideFloats, first the group sums s of channels f < fn4 (FN rounded down to 4), then
  ;; the values the edge loop adds one by one, in its order.
  (func $packDyImages
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $dyImg i32) (param $R i32) (param $P i32) (param $FN i32)
    (param $bp i32) (param $db i32) (param $side i32)
    (local $n i32) (local $f i32) (local $p i32) (local $dn i32) (local $src i32) (local $dst i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128) (local $s v128)
    (local $fn4 i32) (local $p4 i32) (local $P4 i32) (local $v f32) (local $sideN i32) (local $e i32)
    (local.set $fn4 (i32.and (local.get $FN) (i32.const -4)))
    (local.set $p4 (i32.and (local.get $P) (i32.const -4)))
    (local.set $P4 (i32.shl (local.get $P) (i32.const 2)))
    (local.set $n (local.get $n0))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $dn (i32.add (local.get $dy) (i32.mul (i32.sub (local.get $n) (local.get $n0)) (local.get $dyImg))))
        (local.set $sideN (i32.add (local.get $side) (i32.shl (i32.mul (local.get $n) (call $sideFloats (local.get $FN) (local.get $P))) (i32.const 2))))
        (local.set $e (i32.add (local.get $sideN) (i32.shl (local.get $fn4) (i32.const 2))))
        (local.set $f (i32.const 0))
        (block $fdone
          (loop $floop
            (br_if $fdone (i32.ge_u (local.get $f) (local.get $fn4)))
            (local.set $s (v128.const i32x4 0 0 0 0))
            (local.set $p (i32.const 0))
            (block $pdone
              (loop $ploop
                (br_if $pdone (i32.ge_u (local.get $p) (local.get $p4)))
                ;; r_j = dy[n, f+j, p..p+3]
                (local.set $src (i32.add (local.get $dn)
                  (i32.shl (i32.add (i32.mul (local.get $f) (local.get $P)) (local.get $p)) (i32.const 2))))
                (local.set $r0 (v128.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $P4)))
                (local.set $r1 (v128.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $P4)))
                (local.set $r2 (v128.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $P4)))
                (local.set $r3 (v128.load (local.get $src)))
                (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                ;; t_i = dy[n, f..f+3, p+i] goes to row r = n*P + p + i of panel f/8, lanes f mod 8 ..
                (local.set $dst (i32.add (local.get $bp) (i32.shl
                  (i32.add (i32.shl (i32.add (i32.mul (i32.shr_u (local.get $f) (i32.const 3)) (local.get $R))
                                             (i32.add (i32.mul (local.get $n) (local.get $P)) (local.get $p))) (i32.const 3))
                           (i32.and (local.get $f) (i32.const 7))) (i32.const 2))))
                (local.set $r0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
                (local.set $r1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
                (local.set $r2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
                (local.set $r3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
                (if (local.get $bp)
                  (then
                    (v128.store (local.get $dst) (local.get $r0))
                    (v128.store offset=32 (local.get $dst) (local.get $r1))
                    (v128.store offset=64 (local.get $dst) (local.get $r2))
                    (v128.store offset=96 (local.get $dst) (local.get $r3))))
                ;; lane j of s sums channel f+j
                (local.set $s (f32x4.add (local.get $s)
                  (f32x4.add (f32x4.add (local.get $r0) (local.get $r1)) (f32x4.add (local.get $r2) (local.get $r3)))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $ploop)))
            (if (local.get $side)
              (then (v128.store (i32.add (local.get $sideN) (i32.shl (local.get $f) (i32.const 2))) (local.get $s)))
              (else
                (v128.store (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2)))
                  (f32x4.add (local.get $s) (v128.load (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2))))))))
            (local.set $f (i32.add (local.get $f) (i32.const 4)))
            (br $floop)))
        ;; the ragged edges: channels f < fn4 for p >= p4, and every channel f >= fn4
        (local.set $f (i32.const 0))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $f) (local.get $FN)))
            (local.set $p (select (local.get $p4) (i32.const 0) (i32.lt_u (local.get $f) (local.get $fn4))))
            (block $qdone
              (loop $qloop
                (br_if $qdone (i32.ge_u (local.get $p) (local.get $P)))
                (local.set $v (f32.load (i32.add (local.get $dn)
                  (i32.shl (i32.add (i32.mul (local.get $f) (local.get $P)) (local.get $p)) (i32.const 2)))))
                (if (local.get $bp)
                  (then
                    (f32.store (i32.add (local.get $bp) (i32.shl
                      (i32.add (i32.shl (i32.add (i32.mul (i32.shr_u (local.get $f) (i32.const 3)) (local.get $R))
                                                 (i32.add (i32.mul (local.get $n) (local.get $P)) (local.get $p))) (i32.const 3))
                               (i32.and (local.get $f) (i32.const 7))) (i32.const 2)))
                      (local.get $v))))
                (if (local.get $side)
                  (then
                    (f32.store (local.get $e) (local.get $v))
                    (local.set $e (i32.add (local.get $e) (i32.const 4))))
                  (else
                    (f32.store (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2)))
                      (f32.add (local.get $v) (f32.load (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2))))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $qloop)))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $eloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $nloop))))

  ;; Floats $packDyImages keeps per image for $replayDb: fn4 + fn4*(P - p4) + (FN - fn4)*P, fn4 and p4 being FN and
  ;; P rounded down to multiples of 4 (28 + 2*576 for the lesson's conv).
  (func $sideFloats (export "sideFloats") (param $FN i32) (param $P i32) (result i32)
    (local $fn4 i32)
    (local.set $fn4 (i32.and (local.get $FN) (i32.const -4)))
    (i32.add (i32.add (local.get $fn4) (i32.mul (local.get $fn4) (i32.sub (local.get $P) (i32.and (local.get $P) (i32.const -4)))))
      (i32.mul (i32.sub (local.get $FN) (local.get $fn4)) (local.get $P))))

  ;; db += what $packDyImages kept at $side for images 0 .. N-1, in the order $packDy adds it (image by image: the
  ;; group sums of channels f < fn4, then the edge values one by one): the same bits as $packDy's db.
  (func $replayDb (export "replayDb") (param $side i32) (param $N i32) (param $FN i32) (param $P i32) (param $db i32)
    (local $n i32) (local $f i32) (local $p i32) (local $fn4 i32) (local $p4 i32) (local $e i32) (local $at i32)
    (local.set $fn4 (i32.and (local.get $FN) (i32.const -4)))
    (local.set $p4 (i32.and (local.get $P) (i32.const -4)))
    (local.set $e (local.get $side))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $f (i32.const 0))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $f) (local.get $fn4)))
            (local.set $at (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2))))
            (f32.store (local.get $at) (f32.add (f32.load (local.get $e)) (f32.load (local.get $at))))
            (local.set $e (i32.add (local.get $e) (i32.const 4)))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $sloop)))
        (local.set $f (i32.const 0))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $f) (local.get $FN)))
            (local.set $at (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2))))
            (local.set $p (select (local.get $p4) (i32.const 0) (i32.lt_u (local.get $f) (local.get $fn4))))
            (block $qdone
              (loop $qloop
                (br_if $qdone (i32.ge_u (local.get $p) (local.get $P)))
                (f32.store (local.get $at) (f32.add (f32.load (local.get $e)) (f32.load (local.get $at))))
                (local.set $e (i32.add (local.get $e) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $qloop)))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $eloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $nloop))))
