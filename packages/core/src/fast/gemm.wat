;; foldnet fast GEMM: C[m, n] (+)= sum_k A[m, k] * B[k, n] in float32, WebAssembly fixed-width SIMD.
;;
;; Layout (all pointers are byte offsets into the one imported, shared memory; lengths in elements):
;; - A is read in place through two strides, so every transpose combination needs no copy of A:
;;   A[i, k] = f32 at a + 4*(i*rsA + k*csA)   (row-major: rsA = K, csA = 1; transposed: rsA = 1, csA = M)
;; - B is packed once per call by $packB into micro-panels of NR = 8 columns, zero-padded on the right:
;;   Bp[q][k][0..8] = B[k, 8q .. 8q+7]          (panel q starts at bp + 4*8*q*K)
;; - C is row-major with a leading dimension ldc >= N. Whole 8-wide tiles are stored as two vectors; the
;;   ragged last panel (N mod 8 columns) is stored lane by lane by $storeEdge, so C needs no padding.
;;
;; The micro-kernel keeps a 4 x 8 tile of C in eight v128 accumulators (4 rows x 2 vectors), and per k does
;; 4 broadcast loads of A, 2 vector loads of B and 8 multiply-adds: 11 live vectors, which fit the 16 xmm
;; registers V8 has on x64 (one is its scratch). When the tile's four A[r, k] sit side by side (a transposed A),
;; one pointer with constant offsets reaches them: V8 then emits 29 instructions per k instead of 35 (each of four
;; pointers costs an add and a zero-extending move). Unrolling k does not pay: TurboFan hoists the unrolled loads to
;; the loop's top and spills (0.82x). The loops around it block K by KC = 256 (one B micro-panel,
;; 256*8*4 = 8 KiB, stays in L1 while the kernel walks down the rows) and M by MC = 128 rows (a 128 x 256 block
;; of A, 128 KiB, stays in L2 while the kernel walks across the panels).
;;
;; No globals, no data segments, no stack: several threads can run instances of this module on the same
;; shared memory at once, each on its own rows of C.
(module
  (import "env" "memory" (memory 1 32768 shared))

  ;; B[k, j] = f32 at b + 4*(k*rsB + j*csB), k < K, j < N  ->  Bp (see above).
  (func $packB (export "packB")
    (param $b i32) (param $rsB i32) (param $csB i32) (param $K i32) (param $N i32) (param $bp i32)
    (local $q i32) (local $nq i32) (local $k i32) (local $j0 i32) (local $c i32) (local $dst i32)
    (local $src i32) (local $rs4 i32) (local $cs4 i32)
    (local.set $nq (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))
    (local.set $rs4 (i32.shl (local.get $rsB) (i32.const 2)))
    (local.set $cs4 (i32.shl (local.get $csB) (i32.const 2)))
    (local.set $dst (local.get $bp))
    (local.set $q (i32.const 0))
    (block $qdone
      (loop $qloop
        (br_if $qdone (i32.ge_u (local.get $q) (local.get $nq)))
        (local.set $j0 (i32.shl (local.get $q) (i32.const 3)))
        (if (i32.and (i32.eq (local.get $csB) (i32.const 1))
                     (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $N)))
          (then
            ;; a full panel of a row-major B: two vector copies per k
            (local.set $src (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $kdone
              (loop $kloop
                (br_if $kdone (i32.ge_u (local.get $k) (local.get $K)))
                (v128.store (local.get $dst) (v128.load (local.get $src)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $rs4)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kloop))))
          (else
            (local.set $k (i32.const 0))
            ;; a full panel of a transposed B (rsB = 1: column j of B is contiguous): four k at a time, the panel's
            ;; 8 columns loaded as vectors and transposed 4 x 4 in registers (as $rowsToNchw does), 8 stores
            (if (i32.and (i32.eq (local.get $rsB) (i32.const 1))
                         (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $N)))
              (then
                (local.set $src (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $cs4))))
                (block $tdone
                  (loop $tloop
                    (br_if $tdone (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $K)))
                    (call $transpose4 (local.get $src) (local.get $cs4) (local.get $dst) (i32.const 32))
                    (call $transpose4 (i32.add (local.get $src) (i32.shl (local.get $cs4) (i32.const 2))) (local.get $cs4) (i32.add (local.get $dst) (i32.const 16)) (i32.const 32))
                    (local.set $src (i32.add (local.get $src) (i32.const 16)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
                    (local.set $k (i32.add (local.get $k) (i32.const 4)))
                    (br $tloop)))))
            ;; a transposed B's last k, or the ragged last panel: element by element, zeros past column N
            (block $kdone2
              (loop $kloop2
                (br_if $kdone2 (i32.ge_u (local.get $k) (local.get $K)))
                (local.set $c (i32.const 0))
                (local.set $src (i32.add (local.get $b)
                  (i32.add (i32.mul (local.get $k) (local.get $rs4)) (i32.mul (local.get $j0) (local.get $cs4)))))
                (block $cdone
                  (loop $cloop
                    (br_if $cdone (i32.ge_u (local.get $c) (i32.const 8)))
                    (if (i32.lt_u (i32.add (local.get $j0) (local.get $c)) (local.get $N))
                      (then (f32.store (local.get $dst) (f32.load (local.get $src))))
                      (else (f32.store (local.get $dst) (f32.const 0))))
                    (local.set $src (i32.add (local.get $src) (local.get $cs4)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $c (i32.add (local.get $c) (i32.const 1)))
                    (br $cloop)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kloop2)))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $qloop))))

  ;; Four rows of 4 floats at src, src + stride, src + 2 stride, src + 3 stride (bytes) -> their transpose, as four rows
  ;; of 4 floats $dstStride bytes apart at dst (packB: 32, half of each of four rows of a packed B panel).
  (func $transpose4 (param $src i32) (param $stride i32) (param $dst i32) (param $dstStride i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local.set $r0 (v128.load (local.get $src)))
    (local.set $r1 (v128.load (i32.add (local.get $src) (local.get $stride))))
    (local.set $r2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $stride) (i32.const 1)))))
    (local.set $r3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $stride) (i32.const 3)))))
    (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
    (v128.store (i32.add (local.get $dst) (local.get $dstStride)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $dstStride) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
    (v128.store (i32.add (local.get $dst) (i32.mul (local.get $dstStride) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3))))

  ;; dst [C, R] = the transpose of src [R, C] (row-major floats), so that a GEMM reads a row-major A as the four rows
  ;; of a tile side by side (see $micro). 4 x 4 blocks by $transpose4; the edges one by one.
  (func $transpose (export "transpose") (param $src i32) (param $R i32) (param $C i32) (param $dst i32)
    (local $r i32) (local $c i32) (local $R4 i32) (local $C4 i32) (local $i i32)
    ;; bytes between rows of src and of dst
    (local $C4b i32) (local $R4b i32)
    (local.set $R4 (i32.and (local.get $R) (i32.const -4)))
    (local.set $C4 (i32.and (local.get $C) (i32.const -4)))
    (local.set $C4b (i32.shl (local.get $C) (i32.const 2)))
    (local.set $R4b (i32.shl (local.get $R) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $R4)))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C4)))
            (call $transpose4
              (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $C)) (local.get $c)) (i32.const 2))) (local.get $C4b)
              (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (local.get $r)) (i32.const 2))) (local.get $R4b))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
        ;; the last C mod 4 columns of these four rows
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $i (i32.const 0))
            (block $idone
              (loop $iloop
                (br_if $idone (i32.ge_u (local.get $i) (i32.const 4)))
                (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (i32.add (local.get $r) (local.get $i))) (i32.const 2)))
                  (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $r) (local.get $i)) (local.get $C)) (local.get $c)) (i32.const 2)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $iloop)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $eloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop)))
    ;; the last R mod 4 rows
    (block $ldone
      (loop $lloop
        (br_if $ldone (i32.ge_u (local.get $r) (local.get $R)))
        (local.set $c (i32.const 0))
        (block $lcdone
          (loop $lcloop
            (br_if $lcdone (i32.ge_u (local.get $c) (local.get $C)))
            (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (local.get $r)) (i32.const 2)))
              (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $C)) (local.get $c)) (i32.const 2)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $lcloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $lloop))))

  ;; Stores the first nr < 8 columns of one row of a tile, (v0 | v1) = columns 0..3 | 4..7; $load adds C's values.
  (func $storeEdge (param $pc i32) (param $v0 v128) (param $v1 v128) (param $nr i32) (param $load i32)
    (if (local.get $load)
      (then
        (local.set $v0 (f32x4.add (local.get $v0) (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
          (f32x4.splat (f32.load (local.get $pc)))
          (if (result f32) (i32.gt_u (local.get $nr) (i32.const 1)) (then (f32.load offset=4 (local.get $pc))) (else (f32.const 0))))
          (if (result f32) (i32.gt_u (local.get $nr) (i32.const 2)) (then (f32.load offset=8 (local.get $pc))) (else (f32.const 0))))
          (if (result f32) (i32.gt_u (local.get $nr) (i32.const 3)) (then (f32.load offset=12 (local.get $pc))) (else (f32.const 0))))))
        (if (i32.gt_u (local.get $nr) (i32.const 4))
          (then
            (local.set $v1 (f32x4.add (local.get $v1) (f32x4.replace_lane 2 (f32x4.replace_lane 1
              (f32x4.splat (f32.load offset=16 (local.get $pc)))
              (if (result f32) (i32.gt_u (local.get $nr) (i32.const 5)) (then (f32.load offset=20 (local.get $pc))) (else (f32.const 0))))
              (if (result f32) (i32.gt_u (local.get $nr) (i32.const 6)) (then (f32.load offset=24 (local.get $pc))) (else (f32.const 0))))))))))
    (f32.store (local.get $pc) (f32x4.extract_lane 0 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 1)))
    (f32.store offset=4 (local.get $pc) (f32x4.extract_lane 1 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 2)))
    (f32.store offset=8 (local.get $pc) (f32x4.extract_lane 2 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 3)))
    (f32.store offset=12 (local.get $pc) (f32x4.extract_lane 3 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 4)))
    (f32.store offset=16 (local.get $pc) (f32x4.extract_lane 0 (local.get $v1)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 5)))
    (f32.store offset=20 (local.get $pc) (f32x4.extract_lane 1 (local.get $v1)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 6)))
    (f32.store offset=24 (local.get $pc) (f32x4.extract_lane 2 (local.get $v1))))

  ;; One 4 x 8 tile: C[r, 0..nr] (+)= sum_{k < kc} A_r[k] * Bp[k, 0..nr] for r < mr, nr <= 8 (rows past mr
  ;; are computed from a duplicated row pointer and dropped). $load = 1 adds to what C holds, 0 overwrites it.
  ;; A_r[k] is at pa_r + k*sa, or, when $pk is not 0, at pa_r + $pk[k] (byte offsets); after the indexed loop
  ;; $pb has reached $end, so the strided loop below runs no iteration.
  (func $micro
    (param $kc i32) (param $pa0 i32) (param $pa1 i32) (param $pa2 i32) (param $pa3 i32) (param $sa i32)
    (param $pb i32) (param $pc i32) (param $ldc4 i32) (param $mr i32) (param $nr i32) (param $load i32) (param $pk i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $end i32) (local $o i32)
    (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))
    ;; indexed A ($pk != 0): A_r[k] at pa_r + the byte offset read from $pk[k] (an implicit im2col)
    (if (local.get $pk)
      (then
        (block $idone
          (loop $ik
            (br_if $idone (i32.ge_u (local.get $pb) (local.get $end)))
            (local.set $o (i32.load (local.get $pk)))
            (local.set $b0 (v128.load (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $a (v128.load32_splat (i32.add (local.get $pa0) (local.get $o))))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat (i32.add (local.get $pa1) (local.get $o))))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat (i32.add (local.get $pa2) (local.get $o))))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat (i32.add (local.get $pa3) (local.get $o))))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (br $ik)))))
    ;; the four rows' A[r, k] side by side (A transposed, or packed by rows of four): one pointer and constant offsets
    ;; instead of four pointers (six fewer instructions per k as V8 compiles it)
    (if (i32.and (i32.eq (local.get $pa1) (i32.add (local.get $pa0) (i32.const 4)))
          (i32.and (i32.eq (local.get $pa2) (i32.add (local.get $pa0) (i32.const 8))) (i32.eq (local.get $pa3) (i32.add (local.get $pa0) (i32.const 12)))))
      (then
        (block $qdone
          (loop $qk
            (br_if $qdone (i32.ge_u (local.get $pb) (local.get $end)))
            (local.set $b0 (v128.load (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $a (v128.load32_splat offset=0 (local.get $pa0)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat offset=4 (local.get $pa0)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat offset=8 (local.get $pa0)))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat offset=12 (local.get $pa0)))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $pa0 (i32.add (local.get $pa0) (local.get $sa)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (br $qk)))))
    (block $done
      (loop $k
        (br_if $done (i32.ge_u (local.get $pb) (local.get $end)))
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $a (v128.load32_splat (local.get $pa0)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat (local.get $pa1)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat (local.get $pa2)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat (local.get $pa3)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $pa0 (i32.add (local.get $pa0) (local.get $sa)))
        (local.set $pa1 (i32.add (local.get $pa1) (local.get $sa)))
        (local.set $pa2 (i32.add (local.get $pa2) (local.get $sa)))
        (local.set $pa3 (i32.add (local.get $pa3) (local.get $sa)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br $k)))
    (if (i32.lt_u (local.get $nr) (i32.const 8))
      (then
        (call $storeEdge (local.get $pc) (local.get $c00) (local.get $c01) (local.get $nr) (local.get $load))
        (br_if 1 (i32.le_u (local.get $mr) (i32.const 1)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
        (call $storeEdge (local.get $pc) (local.get $c10) (local.get $c11) (local.get $nr) (local.get $load))
        (br_if 1 (i32.le_u (local.get $mr) (i32.const 2)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
        (call $storeEdge (local.get $pc) (local.get $c20) (local.get $c21) (local.get $nr) (local.get $load))
        (br_if 1 (i32.le_u (local.get $mr) (i32.const 3)))
        (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
        (call $storeEdge (local.get $pc) (local.get $c30) (local.get $c31) (local.get $nr) (local.get $load))
        (return)))
    (if (local.get $load)
      (then
        (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $pc))))
        (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $pc))))))
    (v128.store (local.get $pc) (local.get $c00))
    (v128.store offset=16 (local.get $pc) (local.get $c01))
    (br_if 0 (i32.le_u (local.get $mr) (i32.const 1)))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
    (if (local.get $load)
      (then
        (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $pc))))
        (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $pc))))))
    (v128.store (local.get $pc) (local.get $c10))
    (v128.store offset=16 (local.get $pc) (local.get $c11))
    (br_if 0 (i32.le_u (local.get $mr) (i32.const 2)))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
    (if (local.get $load)
      (then
        (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $pc))))
        (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $pc))))))
    (v128.store (local.get $pc) (local.get $c20))
    (v128.store offset=16 (local.get $pc) (local.get $c21))
    (br_if 0 (i32.le_u (local.get $mr) (i32.const 3)))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
    (if (local.get $load)
      (then
        (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $pc))))
        (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $pc))))))
    (v128.store (local.get $pc) (local.get $c30))
    (v128.store offset=16 (local.get $pc) (local.get $c31)))

  ;; Rows [m0, m1) of C = op(A) x B for a B already packed by $packB with the same K and N. A is strided
  ;; (rsA, csA) when $rowTab is 0; otherwise indexed: A[i, k] = f32 at a + rowTab[i] + kTab[k] (i32 tables of
  ;; byte offsets), which reads a convolution's im2col matrix straight from the image without building it.
  ;; $acc = 1 adds to C (a K split over several calls), 0 overwrites it.
  (func $gemmRows (export "gemmRows")
    (param $m0 i32) (param $m1 i32) (param $N i32) (param $K i32)
    (param $a i32) (param $rsA i32) (param $csA i32) (param $bp i32) (param $c i32) (param $ldc i32) (param $acc i32)
    (param $rowTab i32) (param $kTab i32)
    (local $pc i32) (local $kc i32) (local $ic i32) (local $iend i32) (local $q i32) (local $nq i32)
    (local $i i32) (local $mr i32) (local $nr i32) (local $pbq i32) (local $sa i32) (local $rs4 i32) (local $ldc4 i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $load i32)
    (local.set $nq (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))
    (local.set $sa (i32.shl (local.get $csA) (i32.const 2)))
    (local.set $rs4 (i32.shl (local.get $rsA) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $pc (i32.const 0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pc) (local.get $K)))
        (local.set $kc (i32.sub (local.get $K) (local.get $pc)))
        (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
        (local.set $load (i32.or (local.get $acc) (i32.ne (local.get $pc) (i32.const 0))))
        (local.set $ic (local.get $m0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_u (local.get $ic) (local.get $m1)))
            (local.set $iend (i32.add (local.get $ic) (i32.const 128)))
            (if (i32.gt_u (local.get $iend) (local.get $m1)) (then (local.set $iend (local.get $m1))))
            (local.set $q (i32.const 0))
            (block $qdone
              (loop $qloop
                (br_if $qdone (i32.ge_u (local.get $q) (local.get $nq)))
                ;; panel q, rows pc.. of Bp
                (local.set $nr (i32.sub (local.get $N) (i32.shl (local.get $q) (i32.const 3))))
                (if (i32.gt_u (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
                (local.set $pbq (i32.add (local.get $bp)
                  (i32.shl (i32.add (i32.mul (local.get $q) (local.get $K)) (local.get $pc)) (i32.const 5))))
                (local.set $i (local.get $ic))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_u (local.get $i) (local.get $iend)))
                    (local.set $mr (i32.sub (local.get $iend) (local.get $i)))
                    (if (i32.gt_u (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
                    (if (local.get $rowTab)
                      (then
                        ;; indexed A: A_r starts at a + rowTab[i + r] (bytes); missing rows repeat the last valid one
                        (local.set $pa0 (i32.add (local.get $a) (i32.load (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))))))
                        (local.set $pa1 (local.get $pa0))
                        (if (i32.gt_u (local.get $mr) (i32.const 1)) (then (local.set $pa1 (i32.add (local.get $a)
                          (i32.load offset=4 (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))))))))
                        (local.set $pa2 (local.get $pa1))
                        (if (i32.gt_u (local.get $mr) (i32.const 2)) (then (local.set $pa2 (i32.add (local.get $a)
                          (i32.load offset=8 (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))))))))
                        (local.set $pa3 (local.get $pa2))
                        (if (i32.gt_u (local.get $mr) (i32.const 3)) (then (local.set $pa3 (i32.add (local.get $a)
                          (i32.load offset=12 (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2)))))))))
                      (else
                        ;; A_r starts at a + 4*((i + r)*rsA + pc*csA); missing rows repeat the last valid one
                        (local.set $pa0 (i32.add (local.get $a)
                          (i32.add (i32.mul (local.get $i) (local.get $rs4)) (i32.mul (local.get $pc) (local.get $sa)))))
                        (local.set $pa1 (local.get $pa0))
                        (if (i32.gt_u (local.get $mr) (i32.const 1)) (then (local.set $pa1 (i32.add (local.get $pa0) (local.get $rs4)))))
                        (local.set $pa2 (local.get $pa1))
                        (if (i32.gt_u (local.get $mr) (i32.const 2)) (then (local.set $pa2 (i32.add (local.get $pa1) (local.get $rs4)))))
                        (local.set $pa3 (local.get $pa2))
                        (if (i32.gt_u (local.get $mr) (i32.const 3)) (then (local.set $pa3 (i32.add (local.get $pa2) (local.get $rs4)))))))
                    (call $micro (local.get $kc) (local.get $pa0) (local.get $pa1) (local.get $pa2) (local.get $pa3)
                      (local.get $sa) (local.get $pbq)
                      (i32.add (local.get $c)
                        (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $q) (i32.const 3))) (i32.const 2)))
                      (local.get $ldc4) (local.get $mr) (local.get $nr) (local.get $load)
                      (select (i32.add (local.get $kTab) (i32.shl (local.get $pc) (i32.const 2))) (i32.const 0) (local.get $rowTab)))
                    (local.set $i (i32.add (local.get $i) (i32.const 4)))
                    (br $rloop)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $qloop)))
            (local.set $ic (local.get $iend))
            (br $iloop)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $ploop))))

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
  ;; left as they are: the GEMM never stores them.
  (func $packDy (export "packDy")
    (param $dy i32) (param $N i32) (param $P i32) (param $FN i32) (param $bp i32) (param $db i32)
    (call $packDyImages (i32.const 0) (local.get $N) (local.get $dy) (i32.shl (i32.mul (local.get $FN) (local.get $P)) (i32.const 2))
      (i32.mul (local.get $N) (local.get $P)) (local.get $P) (local.get $FN) (local.get $bp) (local.get $db) (i32.const 0)))

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
                (v128.store (local.get $dst) (local.get $r0))
                (v128.store offset=32 (local.get $dst) (local.get $r1))
                (v128.store offset=64 (local.get $dst) (local.get $r2))
                (v128.store offset=96 (local.get $dst) (local.get $r3))
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
                (f32.store (i32.add (local.get $bp) (i32.shl
                  (i32.add (i32.shl (i32.add (i32.mul (i32.shr_u (local.get $f) (i32.const 3)) (local.get $R))
                                             (i32.add (i32.mul (local.get $n) (local.get $P)) (local.get $p))) (i32.const 3))
                           (i32.and (local.get $f) (i32.const 7))) (i32.const 2)))
                  (local.get $v))
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

  ;; The lesson's max pooling, 2x2 windows, stride 2, no padding, over `planes` planes of H x W: out and argmax
  ;; (flat element indices into x, counted from element 0 of the input at $x, plus $base: a thread pooling a
  ;; later part of a batch gives the index of its first element) for OH x OW outputs per plane.
  ;; Four outputs at a time: the even and odd columns of the two window rows are separated with shuffles, and
  ;; each candidate replaces the best so far where it is strictly greater, or is the first NaN (f32x4.gt/ne/eq +
  ;; bitselect, no branches: pooling random data with branches mispredicts half the time), in the window order
  ;; (0,0) (0,1) (1,0) (1,1), so the first maximum (or the first NaN) wins as in the reference. Outputs past a multiple of 4 per row go one at a time.
  (func $maxPool2x2 (export "maxPool2x2")
    (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32)
    (param $out i32) (param $arg i32) (param $base i32)
    (local $pl i32) (local $oy i32) (local $ox i32) (local $ow4 i32) (local $r0 i32) (local $i i32)
    (local $a v128) (local $b v128) (local $best v128) (local $at v128) (local $v v128) (local $m v128)
    (local $ib v128) (local $bs f32) (local $vs f32) (local $as i32) (local $o i32)
    (local.set $ow4 (i32.and (local.get $OW) (i32.const -4)))
    (local.set $o (i32.const 0))
    (local.set $pl (i32.const 0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $planes)))
        (local.set $oy (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
            ;; r0: element index of the window's top-left for ox = 0
            (local.set $r0 (i32.add (i32.mul (local.get $pl) (i32.mul (local.get $H) (local.get $W)))
                                    (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $W))))
            (local.set $ox (i32.const 0))
            (block $xdone
              (loop $xloop
                (br_if $xdone (i32.ge_u (local.get $ox) (local.get $ow4)))
                (local.set $i (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))))
                (local.set $ib (i32x4.add (i32x4.splat (local.get $i)) (v128.const i32x4 0 2 4 6)))
                ;; top row: x[i .. i+7]
                (local.set $a (v128.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $best (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $at (local.get $ib))
                (local.set $v (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $m (v128.or (f32x4.gt (local.get $v) (local.get $best))
                  (v128.and (f32x4.ne (local.get $v) (local.get $v)) (f32x4.eq (local.get $best) (local.get $best)))))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (i32x4.add (local.get $ib) (v128.const i32x4 1 1 1 1)) (local.get $at) (local.get $m)))
                ;; bottom row: x[i+W .. i+W+7]
                (local.set $a (v128.load (i32.add (local.get $x) (i32.shl (i32.add (local.get $i) (local.get $W)) (i32.const 2)))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (i32.shl (i32.add (local.get $i) (local.get $W)) (i32.const 2)))))
                (local.set $ib (i32x4.add (local.get $ib) (i32x4.splat (local.get $W))))
                (local.set $v (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $m (v128.or (f32x4.gt (local.get $v) (local.get $best))
                  (v128.and (f32x4.ne (local.get $v) (local.get $v)) (f32x4.eq (local.get $best) (local.get $best)))))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (local.get $ib) (local.get $at) (local.get $m)))
                (local.set $v (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $m (v128.or (f32x4.gt (local.get $v) (local.get $best))
                  (v128.and (f32x4.ne (local.get $v) (local.get $v)) (f32x4.eq (local.get $best) (local.get $best)))))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (i32x4.add (local.get $ib) (v128.const i32x4 1 1 1 1)) (local.get $at) (local.get $m)))
                (v128.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $best))
                (v128.store (i32.add (local.get $arg) (i32.shl (local.get $o) (i32.const 2))) (i32x4.add (local.get $at) (i32x4.splat (local.get $base))))
                (local.set $o (i32.add (local.get $o) (i32.const 4)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $xloop)))
            ;; the rest of the row, one window at a time
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ox) (local.get $OW)))
                (local.set $i (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))))
                (local.set $bs (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $as (local.get $i))
                (local.set $vs (f32.load offset=4 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs))
                      (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs)))) (then (local.set $bs (local.get $vs)) (local.set $as (i32.add (local.get $i) (i32.const 1)))))
                (local.set $i (i32.add (local.get $i) (local.get $W)))
                (local.set $vs (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs))
                      (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs)))) (then (local.set $bs (local.get $vs)) (local.set $as (local.get $i))))
                (local.set $vs (f32.load offset=4 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs))
                      (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs)))) (then (local.set $bs (local.get $vs)) (local.set $as (i32.add (local.get $i) (i32.const 1)))))
                (f32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $bs))
                (i32.store (i32.add (local.get $arg) (i32.shl (local.get $o) (i32.const 2))) (i32.add (local.get $as) (local.get $base)))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $sloop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $yloop)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))

;; The lesson's 2x2 stride-2 max pool then ReLU, without the argmax (evaluation), in one pass: the bits of $maxPool2x2
  ;; then $relu. Four windows at a time take f32x4.max of their four candidates: where the first-maximum rule keeps a -0
  ;; tied with a +0, f32x4.max may give +0, which ReLU turns into +0 either way; with a NaN among them f32x4.max gives
  ;; a NaN but not always the first one's bits, so such a group is redone by the first-maximum rule. Outputs past a
  ;; multiple of 4 per row go one at a time by that rule.
  (func $maxPool2x2Relu
    (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32) (param $out i32)
    (local $pl i32) (local $oy i32) (local $ox i32) (local $ow4 i32) (local $r0 i32) (local $i i32) (local $o i32)
    (local $a v128) (local $b v128) (local $te v128) (local $to v128) (local $be v128) (local $bo v128) (local $best v128) (local $m v128)
    (local $bs f32) (local $vs f32)
    (local.set $ow4 (i32.and (local.get $OW) (i32.const -4)))
    (local.set $pl (i32.const 0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $planes)))
        (local.set $oy (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
            (local.set $r0 (i32.add (i32.mul (local.get $pl) (i32.mul (local.get $H) (local.get $W)))
                                    (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $W))))
            (local.set $ox (i32.const 0))
            (block $xdone
              (loop $xloop
                (br_if $xdone (i32.ge_u (local.get $ox) (local.get $ow4)))
                (local.set $i (i32.shl (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))) (i32.const 2)))
                ;; the windows' top-left, top-right, bottom-left and bottom-right candidates
                (local.set $a (v128.load (i32.add (local.get $x) (local.get $i))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (local.get $i))))
                (local.set $te (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $to (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $i (i32.add (local.get $i) (i32.shl (local.get $W) (i32.const 2))))
                (local.set $a (v128.load (i32.add (local.get $x) (local.get $i))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (local.get $i))))
                (local.set $be (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $bo (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $best (f32x4.max (f32x4.max (local.get $te) (local.get $to)) (f32x4.max (local.get $be) (local.get $bo))))
                (if (v128.any_true (f32x4.ne (local.get $best) (local.get $best)))
                  (then
                    (local.set $best (local.get $te))
                    (local.set $m (v128.or (f32x4.gt (local.get $to) (local.get $best))
                      (v128.and (f32x4.ne (local.get $to) (local.get $to)) (f32x4.eq (local.get $best) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $to) (local.get $best) (local.get $m)))
                    (local.set $m (v128.or (f32x4.gt (local.get $be) (local.get $best))
                      (v128.and (f32x4.ne (local.get $be) (local.get $be)) (f32x4.eq (local.get $best) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $be) (local.get $best) (local.get $m)))
                    (local.set $m (v128.or (f32x4.gt (local.get $bo) (local.get $best))
                      (v128.and (f32x4.ne (local.get $bo) (local.get $bo)) (f32x4.eq (local.get $best) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $bo) (local.get $best) (local.get $m)))))
                (v128.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))
                  (v128.andnot (local.get $best) (f32x4.le (local.get $best) (v128.const i32x4 0 0 0 0))))
                (local.set $o (i32.add (local.get $o) (i32.const 4)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $xloop)))
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ox) (local.get $OW)))
                (local.set $i (i32.add (local.get $x) (i32.shl (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))) (i32.const 2))))
                (local.set $bs (f32.load (local.get $i)))
                (local.set $vs (f32.load offset=4 (local.get $i)))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs)) (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs))))
                  (then (local.set $bs (local.get $vs))))
                (local.set $i (i32.add (local.get $i) (i32.shl (local.get $W) (i32.const 2))))
                (local.set $vs (f32.load (local.get $i)))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs)) (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs))))
                  (then (local.set $bs (local.get $vs))))
                (local.set $vs (f32.load offset=4 (local.get $i)))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs)) (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs))))
                  (then (local.set $bs (local.get $vs))))
                (f32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))
                  (select (f32.const 0) (local.get $bs) (f32.le (local.get $bs) (f32.const 0))))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $sloop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $yloop)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))

  ;; The pullback of ReLU after max pooling, into the pool's input gradient: dst [len floats] = 0, then for each
  ;; pooled element o < n, dst[arg[o]] += dy[o] where out[o] (the pooled, ReLU'd output) is not <= 0 (a NaN lets
  ;; dy through, as $reluBackward does). arg holds element indices into dst.
  (func $unpoolRelu (export "unpoolRelu") (param $dy i32) (param $out i32) (param $arg i32) (param $n i32) (param $dst i32) (param $len i32)
    (call $zeroF32 (local.get $dst) (local.get $len))
    (call $scatterRelu (local.get $dy) (local.get $out) (local.get $arg) (local.get $n) (local.get $dst)))

  ;; len floats at dst = 0, four at a time, the tail one by one.
  (func $zeroF32 (param $dst i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $len) (i32.const -4)) (i32.const 2))))
    (block $zdone
      (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $zloop)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $len) (i32.const 3)) (i32.const 2))))
    (block $tdone
      (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.const 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $tloop))))

  ;; dst[arg[o]] += dy[o] for o < n where out[o] is not <= 0 ($unpoolRelu without the zeroing). Branch-free: a masked
  ;; element adds +0, which leaves dst as it is (dst starts at +0 and a sum from +0 is never -0), where a branch on
  ;; ReLU's mask, true for about half the elements at random, mispredicted half the time.
  (func $scatterRelu (param $dy i32) (param $out i32) (param $arg i32) (param $n i32) (param $dst i32)
    (local $o i32) (local $at i32) (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
        (local.set $i (i32.shl (local.get $o) (i32.const 2)))
        (local.set $at (i32.add (local.get $dst) (i32.shl (i32.load (i32.add (local.get $arg) (local.get $i))) (i32.const 2))))
        (f32.store (local.get $at)
          (f32.add (f32.load (local.get $at))
            (select (f32.const 0) (f32.load (i32.add (local.get $dy) (local.get $i)))
              (f32.le (f32.load (i32.add (local.get $out) (local.get $i))) (f32.const 0)))))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $each))))

  ;; $unpoolRelu and $packDy in one pass, image by image, for images [n0, n1) (a thread's share), so the conv's dy
  ;; [N, FN, P] never exists whole: each image's dy [FN, P] is built in a scratch slot (zeros, then its pooled dy
  ;; [FN, PQ] routed to the window maxima where out is not <= 0) and packed from there while it is in cache. The
  ;; slot is image n0's in $scratch [N, FN, P] (threads take disjoint ranges, so never the same slot). db as $packDy
  ;; sums it: directly with $side = 0 (one caller, all images in order), else kept at $side for $replayDb. The same
  ;; bits as $unpoolRelu then $packDy, without moving the whole dy (6.9 MB for the lesson's conv) through memory twice.
  (func $unpoolPackDy (export "unpoolPackDy")
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $out i32) (param $arg i32) (param $N i32) (param $FN i32)
    (param $P i32) (param $PQ i32) (param $scratch i32) (param $bp i32) (param $db i32) (param $side i32)
    (local $n i32) (local $o i32) (local $slot i32)
    (local.set $slot (i32.add (local.get $scratch) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $FN)) (local.get $P)) (i32.const 2))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $o (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $PQ)) (i32.const 2)))
        (call $zeroF32 (local.get $slot) (i32.mul (local.get $FN) (local.get $P)))
        ;; arg indexes the batch's dy; image n's part starts n*FN*P floats in, which is where the slot is
        (call $scatterRelu (i32.add (local.get $dy) (local.get $o)) (i32.add (local.get $out) (local.get $o)) (i32.add (local.get $arg) (local.get $o))
          (i32.mul (local.get $FN) (local.get $PQ))
          (i32.sub (local.get $slot) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P)) (i32.const 2))))
        (call $packDyImages (local.get $n) (i32.add (local.get $n) (i32.const 1)) (local.get $slot) (i32.const 0)
          (i32.mul (local.get $N) (local.get $P)) (local.get $P) (local.get $FN) (local.get $bp) (local.get $db) (local.get $side))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $images))))

  ;; Zero padding: planes of H x W floats at $src -> planes of (H + 2 pad) x (W + 2 pad) at $dst, the border zero, each
  ;; row copied four floats at a time (the tail one by one). The same copy in JavaScript, element by element into
  ;; the shared memory, cost ~1 ms of DoubleConvNet's step.
  (func $padImages (export "padImages") (param $src i32) (param $planes i32) (param $H i32) (param $W i32) (param $pad i32) (param $dst i32)
    (local $pl i32) (local $y i32) (local $Wp i32) (local $plane i32) (local $s i32) (local $d i32) (local $end i32) (local $end4 i32)
    (local.set $Wp (i32.add (local.get $W) (i32.shl (local.get $pad) (i32.const 1))))
    (local.set $plane (i32.mul (i32.add (local.get $H) (i32.shl (local.get $pad) (i32.const 1))) (local.get $Wp)))
    (call $zeroF32 (local.get $dst) (i32.mul (local.get $planes) (local.get $plane)))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $planes)))
        (local.set $y (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $y) (local.get $H)))
            (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (i32.add (i32.mul (local.get $pl) (local.get $H)) (local.get $y)) (local.get $W)) (i32.const 2))))
            (local.set $d (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $pl) (local.get $plane))
              (i32.add (i32.mul (i32.add (local.get $y) (local.get $pad)) (local.get $Wp)) (local.get $pad))) (i32.const 2))))
            (local.set $end (i32.add (local.get $s) (i32.shl (local.get $W) (i32.const 2))))
            (local.set $end4 (i32.add (local.get $s) (i32.shl (i32.and (local.get $W) (i32.const -4)) (i32.const 2))))
            (block $vdone
              (loop $vloop
                (br_if $vdone (i32.ge_u (local.get $s) (local.get $end4)))
                (v128.store (local.get $d) (v128.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (i32.const 16)))
                (local.set $d (i32.add (local.get $d) (i32.const 16)))
                (br $vloop)))
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $s) (local.get $end)))
                (f32.store (local.get $d) (f32.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (i32.const 4)))
                (local.set $d (i32.add (local.get $d) (i32.const 4)))
                (br $sloop)))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (br $yloop)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))

  ;; ReLU with the lesson's mask (x <= 0): out[i] = x[i] <= 0 ? 0 : x[i] over n floats, four at a time, branch-free
  ;; (f32x4.le + v128.andnot: a NaN compares false, so it passes through with its bits; -0 becomes +0).
  ;; Random activations make a branch mispredict half the time, which is what this avoids.
  (func $relu (export "relu") (param $x i32) (param $n i32) (param $out i32)
    (local $end i32) (local $end4 i32) (local $v v128) (local $s f32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $x) (local.get $end4)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $out) (v128.andnot (local.get $v) (f32x4.le (local.get $v) (v128.const i32x4 0 0 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $s (f32.load (local.get $x)))
        (f32.store (local.get $out) (select (f32.const 0) (local.get $s) (f32.le (local.get $s) (f32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $sloop))))

  ;; ReLU's pullback: out[i] = x[i] <= 0 ? 0 : dy[i] over n floats (x is the forward's input), branch-free as $relu.
  (func $reluBackward (export "reluBackward") (param $x i32) (param $dy i32) (param $n i32) (param $out i32)
    (local $end i32) (local $end4 i32) (local $s f32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $x) (local.get $end4)))
        (v128.store (local.get $out)
          (v128.andnot (v128.load (local.get $dy)) (f32x4.le (v128.load (local.get $x)) (v128.const i32x4 0 0 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $s (f32.load (local.get $x)))
        (f32.store (local.get $out) (select (f32.const 0) (f32.load (local.get $dy)) (f32.le (local.get $s) (f32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $sloop))))

  ;; im2col: x [N, C, H, W] at $x -> rows (n, oy, ox) x columns (c, fy, fx) at $dst, row length C*FH*FW, padding
  ;; written as 0 (dst need not be cleared). Per window row the filter columns fx in [lo, hi) lie inside the image
  ;; and are copied four at a time where they can be (the lesson's 5x5 filter: one vector and one float).
  ;; im2col rows [r0, r1) (row r = (n, oy, ox) of the lesson's layout, n = r / (OH*OW)) of x [N, C, H, W] into
  ;; col [N*OH*OW, C*FH*FW] at dst (row 0's address: row r starts C*FH*FW floats further per row). Padding is
  ;; written as 0, the in-image part of each window row is copied a vector at a time. A row range, so threads
  ;; can split one im2col (see threads.ts).
  (func $im2col (export "im2col")
    (param $r0 i32) (param $r1 i32) (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32)
    (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $c i32) (local $fy i32) (local $fx i32)
    (local $iy0 i32) (local $ix0 i32) (local $iy i32) (local $lo i32) (local $hi i32) (local $src i32) (local $plane i32)
    (local $W4 i32) (local $FW4 i32) (local $r i32) (local $P i32) (local $p i32)
    (local.set $W4 (i32.shl (local.get $W) (i32.const 2)))
    (local.set $FW4 (i32.shl (local.get $FW) (i32.const 2)))
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $dst (i32.add (local.get $dst)
      (i32.shl (i32.mul (local.get $r0) (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW)))) (i32.const 2))))
    (local.set $r (local.get $r0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $n (i32.div_u (local.get $r) (local.get $P)))
      (local.set $p (i32.rem_u (local.get $r) (local.get $P)))
      (local.set $oy (i32.div_u (local.get $p) (local.get $OW)))
      (local.set $ox (i32.rem_u (local.get $p) (local.get $OW)))
      (local.set $iy0 (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $pad)))
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $pad)))
          ;; lo = max(0, -ix0), hi = min(FW, W - ix0)
          (local.set $lo (select (i32.sub (i32.const 0) (local.get $ix0)) (i32.const 0) (i32.lt_s (local.get $ix0) (i32.const 0))))
          (local.set $hi (select (i32.sub (local.get $W) (local.get $ix0)) (local.get $FW)
            (i32.gt_s (i32.add (local.get $ix0) (local.get $FW)) (local.get $W))))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $plane (i32.mul (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $H)))
            (local.set $fy (i32.const 0))
            (block $fdone (loop $floop
              (br_if $fdone (i32.ge_u (local.get $fy) (local.get $FH)))
              (local.set $iy (i32.add (local.get $iy0) (local.get $fy)))
              (if (i32.or (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $H)))
                          (i32.le_s (local.get $hi) (local.get $lo)))
                (then
                  (local.set $fx (i32.const 0))
                  (block $zdone (loop $zloop
                    (br_if $zdone (i32.ge_u (local.get $fx) (local.get $FW)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2))) (f32.const 0))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $zloop))))
                (else
                  ;; src: element (plane + iy) * W + ix0 (fx = 0), possibly outside the image for fx < lo
                  (local.set $src (i32.add (local.get $x) (i32.shl
                    (i32.add (i32.mul (i32.add (local.get $plane) (local.get $iy)) (local.get $W)) (local.get $ix0)) (i32.const 2))))
                  (local.set $fx (i32.const 0))
                  (block $ldone (loop $lloop
                    (br_if $ldone (i32.ge_s (local.get $fx) (local.get $lo)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2))) (f32.const 0))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $lloop)))
                  (block $vdone (loop $vloop
                    (br_if $vdone (i32.gt_s (i32.add (local.get $fx) (i32.const 4)) (local.get $hi)))
                    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2)))
                      (v128.load (i32.add (local.get $src) (i32.shl (local.get $fx) (i32.const 2)))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 4)))
                    (br $vloop)))
                  (block $sdone (loop $sloop
                    (br_if $sdone (i32.ge_s (local.get $fx) (local.get $hi)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2)))
                      (f32.load (i32.add (local.get $src) (i32.shl (local.get $fx) (i32.const 2)))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $sloop)))
                  (block $hdone (loop $hloop
                    (br_if $hdone (i32.ge_s (local.get $fx) (local.get $FW)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2))) (f32.const 0))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $hloop)))))
              (local.set $dst (i32.add (local.get $dst) (local.get $FW4)))
              (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
              (br $floop)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; col2im for images [n0, n1): dst [N, C, H, W] (those images' planes zeroed first) += the im2col-layout rows of
  ;; src (row r = (n, oy, ox), rows ld floats apart, row 0 at src), summing window overlaps in the order
  ;; (n, oy, ox, c, fy, fx). Each image's rows only touch that image, so threads can split by images.
  (func $col2im (export "col2im")
    (param $n0 i32) (param $n1 i32) (param $src i32) (param $ld i32) (param $C i32) (param $H i32) (param $W i32)
    (param $FH i32) (param $FW i32) (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $c i32) (local $fy i32) (local $fx i32)
    (local $iy0 i32) (local $ix0 i32) (local $iy i32) (local $lo i32) (local $hi i32) (local $s i32) (local $row i32)
    (local $o i32) (local $p i32) (local $end i32)
    ;; zero the planes of images n0..n1
    (local.set $p (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n1) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
    (memory.fill (local.get $p) (i32.const 0) (i32.sub (local.get $end) (local.get $p)))
    (local.set $row (i32.add (local.get $src)
      (i32.shl (i32.mul (i32.mul (local.get $n0) (i32.mul (local.get $OH) (local.get $OW))) (local.get $ld)) (i32.const 2))))
    (local.set $n (local.get $n0))
    (block $ndone (loop $nloop
      (br_if $ndone (i32.ge_u (local.get $n) (local.get $n1)))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $iy0 (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $pad)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xloop
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $pad)))
          (local.set $lo (select (i32.sub (i32.const 0) (local.get $ix0)) (i32.const 0) (i32.lt_s (local.get $ix0) (i32.const 0))))
          (local.set $hi (select (i32.sub (local.get $W) (local.get $ix0)) (local.get $FW)
            (i32.gt_s (i32.add (local.get $ix0) (local.get $FW)) (local.get $W))))
          (local.set $s (local.get $row))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $fy (i32.const 0))
            (block $fdone (loop $floop
              (br_if $fdone (i32.ge_u (local.get $fy) (local.get $FH)))
              (local.set $iy (i32.add (local.get $iy0) (local.get $fy)))
              (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $H)))
                (then
                  ;; o: element ((n*C + c)*H + iy)*W + ix0 of dst, as a byte address
                  (local.set $o (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add
                    (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $H)) (local.get $iy)) (local.get $W)) (local.get $ix0)) (i32.const 2))))
                  (local.set $fx (local.get $lo))
                  (block $gdone (loop $gloop
                    (br_if $gdone (i32.ge_s (local.get $fx) (local.get $hi)))
                    (f32.store (i32.add (local.get $o) (i32.shl (local.get $fx) (i32.const 2)))
                      (f32.add (f32.load (i32.add (local.get $o) (i32.shl (local.get $fx) (i32.const 2))))
                               (f32.load (i32.add (local.get $s) (i32.shl (local.get $fx) (i32.const 2))))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $gloop)))))
              (local.set $s (i32.add (local.get $s) (i32.shl (local.get $FW) (i32.const 2))))
              (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
              (br $floop)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $ld) (i32.const 2))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nloop))))

  ;; A direct convolution of one image, stride 1, at least 8 output columns: out [FN, OH, OW] at $out = the image's
  ;; window sums plus bias, written in NCHW as they are made. Each tile is 4 filters x 8 adjacent output pixels of
  ;; one row: per k = (c, fy, fx) the 8 pixels' inputs are 8 adjacent floats of the padded image, at the pixels'
  ;; base + kTab[k] (two vector loads, no packing), and the 4 filters' weights are splats from the packed filters
  ;; $bp ($packB's panels of 8 filters: B[k, f] = W[f, k]; a 4-filter tile reads half a panel). 8 accumulators,
  ;; as $micro. The sums run over k in the order $micro runs them, from zero, and the bias is added last, as
  ;; $rowsToNchw adds it: the output is bit-identical to the GEMM path's for Kc <= 256 (one K block). A row's
  ;; last tile, when OW is not a multiple of 8, ends at OW - 8 and recomputes a few pixels (the same values).
  ;; $wp4: bytes between rows of the padded image.
  ;; $skipZero (the caller sets it only when every weight is finite): a tile whose inputs are all ±0 (the background of
  ;; an MNIST digit, the padding) skips its sums: each would add only ±0 to +0, so they are +0, and the tile is the
  ;; bias plus +0 as always. Checking costs two loads per k, once for all the tile's filters.
  (func $convDirect
    (param $xi i32) (param $kTab i32) (param $Kc i32) (param $OH i32) (param $OW i32) (param $wp4 i32)
    (param $bp i32) (param $FN i32) (param $bias i32) (param $out i32) (param $skipZero i32)
    (local $kstop i32) (local $bits v128)
    (local $oy i32) (local $ox i32) (local $last i32) (local $fb i32) (local $nfb i32) (local $P4 i32)
    (local $base i32) (local $pw i32) (local $pk i32) (local $kend i32) (local $o i32) (local $f i32) (local $dst i32)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $bb v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $nfb (i32.shr_u (i32.add (local.get $FN) (i32.const 3)) (i32.const 2)))
    (local.set $P4 (i32.shl (i32.mul (local.get $OH) (local.get $OW)) (i32.const 2)))
    (local.set $kend (i32.add (local.get $kTab) (i32.shl (local.get $Kc) (i32.const 2))))
    (local.set $oy (i32.const 0))
    (block $ydone
      (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $ox (i32.const 0))
        (local.set $last (i32.const 0))
        (block $xdone
          (loop $xloop
            (br_if $xdone (local.get $last))
            (if (i32.ge_u (i32.add (local.get $ox) (i32.const 8)) (local.get $OW))
              (then
                (local.set $ox (i32.sub (local.get $OW) (i32.const 8)))
                (local.set $last (i32.const 1))))
            (local.set $base (i32.add (local.get $xi)
              (i32.add (i32.mul (local.get $oy) (local.get $wp4)) (i32.shl (local.get $ox) (i32.const 2)))))
            ;; the k loops below stop at $kstop: $kTab (no sums) when the tile's inputs are all ±0
            (local.set $kstop (local.get $kend))
            (if (local.get $skipZero)
              (then
                (local.set $bits (v128.const i32x4 0 0 0 0))
                (local.set $pk (local.get $kTab))
                (block $zdone
                  (loop $zloop
                    (br_if $zdone (i32.ge_u (local.get $pk) (local.get $kend)))
                    (local.set $o (i32.add (local.get $base) (i32.load (local.get $pk))))
                    (local.set $bits (v128.or (local.get $bits) (v128.or (v128.load (local.get $o)) (v128.load offset=16 (local.get $o)))))
                    (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
                    (br $zloop)))
                (if (i32.eqz (v128.any_true (v128.and (local.get $bits) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
                  (then (local.set $kstop (local.get $kTab))))))
            (local.set $fb (i32.const 0))
            (block $fdone
              (loop $floop
                (br_if $fdone (i32.ge_u (local.get $fb) (local.get $nfb)))
                ;; filters 4fb .. 4fb+3: panel fb/2, lanes 4*(fb mod 2) ..
                (local.set $pw (i32.add (local.get $bp)
                  (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $fb) (i32.const 1)) (local.get $Kc)) (i32.const 5))
                           (i32.shl (i32.and (local.get $fb) (i32.const 1)) (i32.const 4)))))
                (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
                (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
                (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
                (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
                (local.set $pk (local.get $kTab))
                (block $kdone
                  (loop $kloop
                    (br_if $kdone (i32.ge_u (local.get $pk) (local.get $kstop)))
                    (local.set $o (i32.add (local.get $base) (i32.load (local.get $pk))))
                    (local.set $b0 (v128.load (local.get $o)))
                    (local.set $b1 (v128.load offset=16 (local.get $o)))
                    (local.set $a (v128.load32_splat (local.get $pw)))
                    (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $a (v128.load32_splat offset=4 (local.get $pw)))
                    (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $a (v128.load32_splat offset=8 (local.get $pw)))
                    (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $a (v128.load32_splat offset=12 (local.get $pw)))
                    (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
                    (local.set $pw (i32.add (local.get $pw) (i32.const 32)))
                    (br $kloop)))
                ;; out[f, oy, ox .. ox+7] = sums + bias[f], for the tile's filters f < FN
                (local.set $f (i32.shl (local.get $fb) (i32.const 2)))
                (local.set $dst (i32.add (local.get $out) (i32.add (i32.mul (local.get $f) (local.get $P4))
                  (i32.shl (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (i32.const 2)))))
                (local.set $bb (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c00)))
                (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c01)))
                (if (i32.lt_u (i32.add (local.get $f) (i32.const 1)) (local.get $FN))
                  (then
                    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                    (local.set $bb (v128.load32_splat offset=4 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                    (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c10)))
                    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c11)))))
                (if (i32.lt_u (i32.add (local.get $f) (i32.const 2)) (local.get $FN))
                  (then
                    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                    (local.set $bb (v128.load32_splat offset=8 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                    (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c20)))
                    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c21)))))
                (if (i32.lt_u (i32.add (local.get $f) (i32.const 3)) (local.get $FN))
                  (then
                    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                    (local.set $bb (v128.load32_splat offset=12 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                    (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c30)))
                    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c31)))))
                (local.set $fb (i32.add (local.get $fb) (i32.const 1)))
                (br $floop)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 8)))
            (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop))))

  ;; The convolution of images [n0, n1) of a batch by packed filters ($packB's panels, B[k, f] = W[f, k]), for one
  ;; thread's share of it, image by image, into out [N, FN, OH, OW] (NCHW, plus bias). With pooled != 0, also the
  ;; lesson's 2x2 max pool of that output into pooled [N, FN, OH/2, OW/2] (argmax into arg, as indices into out)
  ;; and ReLU on it in place; otherwise, with reluOut != 0, ReLU on out in place. $skipZero: see $convDirect.
  ;; The images are zero-padded at $x, $imgBytes apart. Two ways to the output:
  ;; - $wp4 != 0 (stride 1, OW >= 8, Kc <= 256): $convDirect, $wp4 the padded rows' length in bytes;
  ;; - otherwise a GEMM on the implicit im2col: C rows = im2col(x) . Bp, the im2col matrix read in place through
  ;;   the offset tables rowTab [N*OH*OW] and kTab [Kc] (see $gemmRows), then $rowsToNchw with the bias. Every
  ;;   image's C rows go to the same slot, the one of image n0 in C [N*OH*OW, ldc] (threads take disjoint image
  ;;   ranges, so they never share one), which stays in L2 from the GEMM's stores to the layout pass's loads.
  (func $convImages (export "convImages")
    (param $n0 i32) (param $n1 i32) (param $x i32) (param $imgBytes i32) (param $wp4 i32) (param $rowTab i32) (param $kTab i32)
    (param $Kc i32) (param $OH i32) (param $OW i32) (param $bp i32) (param $FN i32)
    (param $c i32) (param $bias i32) (param $out i32) (param $pooled i32) (param $arg i32) (param $reluOut i32) (param $skipZero i32)
    (local $P i32) (local $PQ i32) (local $ldc i32) (local $slot i32) (local $n i32) (local $outN i32) (local $pq i32)
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $PQ (i32.mul (i32.shr_u (local.get $OH) (i32.const 1)) (i32.shr_u (local.get $OW) (i32.const 1))))
    ;; C's rows are FN rounded up to whole 8-column panels (ldc): the last panel is stored as whole vectors, its
    ;; extra columns (zeros times the zero padding of Bp) never read
    (local.set $ldc (i32.and (i32.add (local.get $FN) (i32.const 7)) (i32.const -8)))
    (local.set $slot (i32.add (local.get $c) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $P)) (local.get $ldc)) (i32.const 2))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        ;; pooled, an image's output is only read by the pool right after: every image of the chunk reuses image n0's
        ;; place, which stays in L2 (the argmax still counts from the batch's first output, through the pool's base)
        (local.set $outN (i32.add (local.get $out) (i32.shl (i32.mul (i32.mul (select (local.get $n0) (local.get $n) (local.get $pooled)) (local.get $FN)) (local.get $P)) (i32.const 2))))
        (if (local.get $wp4)
          (then
            (call $convDirect (i32.add (local.get $x) (i32.mul (local.get $n) (local.get $imgBytes))) (local.get $kTab) (local.get $Kc)
              (local.get $OH) (local.get $OW) (local.get $wp4) (local.get $bp) (local.get $FN) (local.get $bias) (local.get $outN) (local.get $skipZero)))
          (else
            ;; rows n*P .. of C land in the slot: C's base moved back by n*P rows (i32 arithmetic wraps, the sum does not)
            (call $gemmRows (i32.mul (local.get $n) (local.get $P)) (i32.mul (i32.add (local.get $n) (i32.const 1)) (local.get $P))
              (local.get $ldc) (local.get $Kc) (local.get $x) (i32.const 0) (i32.const 0) (local.get $bp)
              (i32.sub (local.get $slot) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $P)) (local.get $ldc)) (i32.const 2)))
              (local.get $ldc) (i32.const 0) (local.get $rowTab) (local.get $kTab))
            (call $rowsToNchw (local.get $slot) (i32.const 1) (local.get $P) (local.get $FN) (local.get $ldc) (local.get $bias) (local.get $outN))))
        (if (i32.ne (local.get $pooled) (i32.const 0))
          (then
            (local.set $pq (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $PQ)) (i32.const 2)))
            (if (local.get $arg)
              (then
                (call $maxPool2x2 (local.get $outN) (local.get $FN) (local.get $OH) (local.get $OW)
                  (i32.shr_u (local.get $OH) (i32.const 1)) (i32.shr_u (local.get $OW) (i32.const 1))
                  (i32.add (local.get $pooled) (local.get $pq)) (i32.add (local.get $arg) (local.get $pq))
                  (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P)))
                (call $relu (i32.add (local.get $pooled) (local.get $pq)) (i32.mul (local.get $FN) (local.get $PQ))
                  (i32.add (local.get $pooled) (local.get $pq))))
              (else
                ;; no argmax wanted (evaluation): the pool and ReLU in one pass
                (call $maxPool2x2Relu (local.get $outN) (local.get $FN) (local.get $OH) (local.get $OW)
                  (i32.shr_u (local.get $OH) (i32.const 1)) (i32.shr_u (local.get $OW) (i32.const 1))
                  (i32.add (local.get $pooled) (local.get $pq))))))
          (else
            (if (local.get $reluOut)
              (then (call $relu (local.get $outN) (i32.mul (local.get $FN) (local.get $P)) (local.get $outN))))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $images))))

  ;; Adam's update of elements [i0, i1) of one float32 tensor, as train's adam computes it: each element in
  ;; double precision (f32 promoted exactly), the new moments rounded to float32 when stored and read back
  ;; rounded, the new param rounded once: bit-identical to the JavaScript loop. hyper: 4 f64 at that address,
  ;; lrT (the step's bias-corrected rate), c1 = 1 - beta1, c2 = 1 - beta2, weight decay.
  ;;   g' = g + wd*p;  m' = m + c1*(g' - m);  v' = v + c2*(g'*g' - v);  p' = p - lrT*m' / (sqrt(v') + 1e-7)
  ;; Four elements per step (one vector of each operand, as two f64x2 halves: 1.3x against a pair per step), then a
  ;; pair, then an odd last element alone.
  (func $adam (export "adam")
    (param $i0 i32) (param $i1 i32) (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $outP i32) (param $outM i32) (param $outV i32) (param $hyper i32)
    (local $lrT v128) (local $c1 v128) (local $c2 v128) (local $wd v128) (local $noWd i32)
    (local $i i32) (local $o i32) (local $pp v128) (local $gg v128) (local $mm v128) (local $vv v128)
    (local $n v128) (local $w v128) (local $end2 i32) (local $step i32)
    (local $end4 i32) (local $p4 v128) (local $g4 v128) (local $m4 v128) (local $v4 v128)
    (local $nL v128) (local $nH v128) (local $wL v128) (local $wH v128) (local $qL v128) (local $qH v128)
    (local.set $lrT (f64x2.splat (f64.load (local.get $hyper))))
    (local.set $c1 (f64x2.splat (f64.load offset=8 (local.get $hyper))))
    (local.set $c2 (f64x2.splat (f64.load offset=16 (local.get $hyper))))
    (local.set $wd (f64x2.splat (f64.load offset=24 (local.get $hyper))))
    (local.set $noWd (f64.eq (f64.load offset=24 (local.get $hyper)) (f64.const 0)))
    (local.set $end4 (i32.add (local.get $i0) (i32.and (i32.sub (local.get $i1) (local.get $i0)) (i32.const -4))))
    (local.set $i (local.get $i0))
    (block $qdone
      (loop $quads
        (br_if $qdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p4 (v128.load (i32.add (local.get $p) (local.get $o))))
        (local.set $g4 (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $m4 (v128.load (i32.add (local.get $m) (local.get $o))))
        (local.set $v4 (v128.load (i32.add (local.get $v) (local.get $o))))
            (local.set $pp (f64x2.promote_low_f32x4 (local.get $p4)))
            (local.set $gg (f64x2.promote_low_f32x4 (local.get $g4)))
            (local.set $mm (f64x2.promote_low_f32x4 (local.get $m4)))
            (local.set $vv (f64x2.promote_low_f32x4 (local.get $v4)))
            (if (i32.eqz (local.get $noWd))
              (then (local.set $gg (f64x2.add (local.get $gg) (f64x2.mul (local.get $wd) (local.get $pp))))))
            (local.set $nL (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $mm) (f64x2.mul (local.get $c1) (f64x2.sub (local.get $gg) (local.get $mm))))))
            (local.set $wL (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $vv) (f64x2.mul (local.get $c2) (f64x2.sub (f64x2.mul (local.get $gg) (local.get $gg)) (local.get $vv))))))
            (local.set $qL (f32x4.demote_f64x2_zero (f64x2.sub (local.get $pp)
              (f64x2.div (f64x2.mul (local.get $lrT) (f64x2.promote_low_f32x4 (local.get $nL)))
                         (f64x2.add (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $wL))) (f64x2.splat (f64.const 1e-7)))))))
            (local.set $pp (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $p4) (local.get $p4))))
            (local.set $gg (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $g4) (local.get $g4))))
            (local.set $mm (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $m4) (local.get $m4))))
            (local.set $vv (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v4) (local.get $v4))))
            (if (i32.eqz (local.get $noWd))
              (then (local.set $gg (f64x2.add (local.get $gg) (f64x2.mul (local.get $wd) (local.get $pp))))))
            (local.set $nH (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $mm) (f64x2.mul (local.get $c1) (f64x2.sub (local.get $gg) (local.get $mm))))))
            (local.set $wH (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $vv) (f64x2.mul (local.get $c2) (f64x2.sub (f64x2.mul (local.get $gg) (local.get $gg)) (local.get $vv))))))
            (local.set $qH (f32x4.demote_f64x2_zero (f64x2.sub (local.get $pp)
              (f64x2.div (f64x2.mul (local.get $lrT) (f64x2.promote_low_f32x4 (local.get $nH)))
                         (f64x2.add (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $wH))) (f64x2.splat (f64.const 1e-7)))))))
        (v128.store (i32.add (local.get $outM) (local.get $o)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $nL) (local.get $nH)))
        (v128.store (i32.add (local.get $outV) (local.get $o)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $wL) (local.get $wH)))
        (v128.store (i32.add (local.get $outP) (local.get $o)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $qL) (local.get $qH)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (local.set $end2 (i32.add (local.get $i) (i32.and (i32.sub (local.get $i1) (local.get $i)) (i32.const -2))))
    (block $done
      (loop $pairs
        ;; a pair while two elements are left, then (step = 1) the odd last one through the same code with its
        ;; second lane a copy of the first, stored lane 0 only
        (br_if $done (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $step (select (i32.const 2) (i32.const 1) (i32.lt_u (local.get $i) (local.get $end2))))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (if (i32.eq (local.get $step) (i32.const 2))
          (then
            (local.set $pp (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (local.get $o)))))
            (local.set $gg (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $o)))))
            (local.set $mm (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $o)))))
            (local.set $vv (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $o))))))
          (else
            (local.set $pp (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $o))))))
            (local.set $gg (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $o))))))
            (local.set $mm (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $m) (local.get $o))))))
            (local.set $vv (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $v) (local.get $o))))))))
        (if (i32.eqz (local.get $noWd))
          (then (local.set $gg (f64x2.add (local.get $gg) (f64x2.mul (local.get $wd) (local.get $pp))))))
        ;; m' rounded to float32 and read back
        (local.set $n (f32x4.demote_f64x2_zero
          (f64x2.add (local.get $mm) (f64x2.mul (local.get $c1) (f64x2.sub (local.get $gg) (local.get $mm))))))
        (local.set $mm (f64x2.promote_low_f32x4 (local.get $n)))
        (local.set $w (f32x4.demote_f64x2_zero
          (f64x2.add (local.get $vv) (f64x2.mul (local.get $c2) (f64x2.sub (f64x2.mul (local.get $gg) (local.get $gg)) (local.get $vv))))))
        (local.set $vv (f64x2.promote_low_f32x4 (local.get $w)))
        (local.set $pp (f32x4.demote_f64x2_zero (f64x2.sub (local.get $pp)
          (f64x2.div (f64x2.mul (local.get $lrT) (local.get $mm))
                     (f64x2.add (f64x2.sqrt (local.get $vv)) (f64x2.splat (f64.const 1e-7)))))))
        (if (i32.eq (local.get $step) (i32.const 2))
          (then
            (v128.store64_lane 0 (i32.add (local.get $outM) (local.get $o)) (local.get $n))
            (v128.store64_lane 0 (i32.add (local.get $outV) (local.get $o)) (local.get $w))
            (v128.store64_lane 0 (i32.add (local.get $outP) (local.get $o)) (local.get $pp)))
          (else
            (f32.store (i32.add (local.get $outM) (local.get $o)) (f32x4.extract_lane 0 (local.get $n)))
            (f32.store (i32.add (local.get $outV) (local.get $o)) (f32x4.extract_lane 0 (local.get $w)))
            (f32.store (i32.add (local.get $outP) (local.get $o)) (f32x4.extract_lane 0 (local.get $pp)))))
        (local.set $i (i32.add (local.get $i) (local.get $step)))
        (br $pairs))))

  ;; 1 when the n floats at $p are all finite, else 0: x*0 is ±0 for a finite x and NaN otherwise, and a NaN stays in
  ;; the running sum.
  (func $finiteF32 (export "finiteF32") (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $z v128) (local $t f32)
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $z (f32x4.add (local.get $z) (f32x4.mul (v128.load (local.get $p)) (v128.const i32x4 0 0 0 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32.load (local.get $p)) (f32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $sloop)))
    (i32.and (i32x4.all_true (f32x4.eq (local.get $z) (v128.const i32x4 0 0 0 0))) (f32.eq (local.get $t) (f32.const 0))))

  ;; Byte offset of row j = (c, fy) of a filter's window, c = j / FH, in zero-padded images of Hp x Wp planes.
  (func $windowRow (param $j i32) (param $FH i32) (param $Hp i32) (param $Wp i32) (result i32)
    (i32.shl (i32.mul (i32.add (i32.mul (i32.div_u (local.get $j) (local.get $FH)) (local.get $Hp)) (i32.rem_u (local.get $j) (local.get $FH)))
      (local.get $Wp)) (i32.const 2)))

  ;; The filter gradient and bias gradient of a convolution followed by ReLU and the lesson's 2x2 stride-2 max pool,
  ;; from the pooled dy alone, for filters [f0, f1) (a thread's share): dWᵀ [Kc, FN] at $dwt (columns f0..f1-1) and
  ;; db [FN] at $db (added to; the caller zeroes it). Each pooled element o of dy [N, FN, PH, PW] reaches the conv's dy
  ;; at its window's maximum arg[o] (an index into the conv output [N, FN, OH, OW]) as v = +0 + dy[o], or +0 where
  ;; out[o] <= 0: the value $unpoolRelu writes there; the rest of the conv's dy is +0. So where the GEMM goes over all
  ;; N*OH*OW rows (dWᵀ = colᵀ . dRows, 3 of 4 rows zero after the pool, about half the rest zero after ReLU), here each
  ;; nonzero v adds v * x[its window] to its filter's row, and the dense dy is never built or packed.
  ;; The same bits as $unpoolPackDy + $gemmRows with $packDy's db, given a finite x (the caller checks: Inf*0 is NaN
  ;; there) and OW a multiple of 4:
  ;; - the GEMM sums each dWᵀ[k, f] over rows r = n*OH*OW + y*OW + x in order, in K blocks of 256 rows (a running sum
  ;;   from +0 per block, then added to C). Here the terms come in the same order (per pooled row, the maxima in its top
  ;;   conv row, then those in its bottom row, each in x order) and a block closes where r reaches a multiple of 256.
  ;;   A term left out is finite * (+0) = ±0, and adding ±0 to a sum that started at +0 changes nothing (it is never -0);
  ;; - $packDy sums channel f < FN rounded down to 4 per image as s += (d[p] + d[p+1]) + (d[p+2] + d[p+3]) over groups of
  ;;   4 (with OW a multiple of 4, a group is two windows of one row), then db += s; channels past those add each d[p]
  ;;   to db in turn.
  ;; A pooled row is read four windows at a time: the nonzero maxima go, by a mask-indexed swizzle (the table at
  ;; $scratch + 64: for each 4-bit mask, the bytes moving the set lanes to the front), to the list of (x address, v, r)
  ;; of their conv row (top or bottom), and the values (+0 where the maximum is in the other row) to each row's array
  ;; for db.
  ;; Lanes: a filter's window rows (c, fy) go five at a time (the last group repeats its last row, dropped at the end),
  ;; each row as 8 floats read from the padded image at (y*stride, x*stride) (FW <= 8; lanes past FW dropped): 10
  ;; accumulators. $x holds the zero-padded images (Hp x Wp planes, C per image).
  ;; Image by image, filter by filter: a plane's lists are all built before any is read (reading each row's list right
  ;; after its vector stores ran 1.24x against 1.42x for this order, the layer's backward vs the dense path, 1 thread),
  ;; once, for all its groups of window rows; each (filter, group) keeps its running sums between images in its state.
  ;; Images outermost keep an image's x in L1 and read dy, out and arg in memory order (1.03x against filters outermost).
  ;; $scratch: an i32 set to 1 when an arg is not in its 2x2 window (another pool: the caller then takes the dense
  ;; path); the swizzle table (256 bytes at +64, written by the caller); per chunk, at +320 + f0 * $pfgSlotBytes, the
  ;; states of its filters' groups (352 bytes each: the running block sums, 10 v128; the block sums C, 10 v128; the r
  ;; where the running block closes; the byte offsets of the five window rows), then each conv row's list length (OH
  ;; i32, rounded up to 4), then per conv row y < OH four arrays of L = PW + 4: the list's x addresses, v and r, and the
  ;; row's values.
  (func $poolFilterGrad (export "poolFilterGrad")
    (param $f0 i32) (param $f1 i32) (param $dy i32) (param $out i32) (param $arg i32) (param $x i32) (param $N i32) (param $FN i32)
    (param $C i32) (param $Hp i32) (param $Wp i32) (param $FH i32) (param $FW i32) (param $stride i32) (param $OH i32) (param $OW i32)
    (param $scratch i32) (param $dwt i32) (param $db i32)
    (local $PH i32) (local $PW i32) (local $P i32) (local $rows i32) (local $imgBytes i32) (local $fn4 i32) (local $L4 i32)
    (local $states i32) (local $st i32) (local $cst i32) (local $groups i32) (local $fStates i32) (local $cnt i32) (local $lists i32) (local $rowBytes i32) (local $xbT i32) (local $xbB i32) (local $rowT i32) (local $rowB i32) (local $y i32) (local $f i32) (local $g i32) (local $i i32) (local $fx i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $o4 i32)
    (local $n i32) (local $py i32) (local $px i32) (local $o i32) (local $w0 i32) (local $nt i32) (local $nb i32) (local $m i32)
    (local $e i32) (local $eEnd i32) (local $nextB i32) (local $xn i32) (local $nP i32) (local $t i32) (local $vals i32)
    (local $s f32) (local $dbf i32) (local $xa i32)
    (local $d v128) (local $isBot v128) (local $col v128) (local $valid v128) (local $v v128) (local $keep v128)
    (local $xb v128) (local $rv v128) (local $sh v128) (local $vs v128)
    (local $rowX i32) (local $sOW v128) (local $sPW v128) (local $sBotX v128) (local $sColX v128) (local $stepX v128)
    (local $vW0 v128) (local $vTop v128) (local $vR v128) (local $pxv v128) (local $rx v128) (local $xcol v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128) (local $a40 v128) (local $a41 v128)
    (local.set $PH (i32.shr_u (local.get $OH) (i32.const 1)))
    (local.set $PW (i32.shr_u (local.get $OW) (i32.const 1)))
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $rows (i32.mul (local.get $C) (local.get $FH)))
    (local.set $groups (i32.div_u (i32.add (local.get $rows) (i32.const 4)) (i32.const 5)))
    (local.set $fStates (i32.mul (local.get $groups) (i32.const 352)))
    (local.set $imgBytes (i32.shl (i32.mul (i32.mul (local.get $C) (local.get $Hp)) (local.get $Wp)) (i32.const 2)))
    (local.set $fn4 (i32.and (local.get $FN) (i32.const -4)))
    (local.set $L4 (i32.shl (i32.add (local.get $PW) (i32.const 4)) (i32.const 2)))
    ;; the chunk's slot: its filters' group states, then the lists of the plane at hand
    (local.set $states (i32.add (i32.add (local.get $scratch) (i32.const 320))
      (i32.mul (local.get $f0) (call $pfgSlotBytes (local.get $OH) (local.get $OW) (local.get $rows)))))
    (local.set $cnt (i32.add (local.get $states) (i32.mul (i32.sub (local.get $f1) (local.get $f0)) (local.get $fStates))))
    (local.set $lists (i32.add (local.get $cnt) (i32.shl (i32.and (i32.add (local.get $OH) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (local.set $rowBytes (i32.shl (local.get $L4) (i32.const 2)))
    ;; bytes between conv rows and between conv columns in the padded images
    (local.set $rowX (i32.shl (i32.mul (local.get $stride) (local.get $Wp)) (i32.const 2)))
    (local.set $sOW (i32x4.splat (local.get $OW)))
    (local.set $sPW (i32x4.splat (local.get $PW)))
    (local.set $sBotX (i32x4.splat (local.get $rowX)))
    (local.set $sColX (i32x4.splat (i32.shl (local.get $stride) (i32.const 2))))
    (local.set $stepX (i32x4.shl (local.get $sColX) (i32.const 3)))
    ;; each (filter, group)'s state: its running block sums (10 v128), C (10 v128), the row where its block closes, and the
    ;; byte offsets of its five window rows
    (local.set $st (local.get $states))
    (local.set $f (local.get $f0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $f) (local.get $f1)))
        (local.set $g (i32.const 0))
        (block $igdone
          (loop $igloop
            (br_if $igdone (i32.ge_u (local.get $g) (local.get $rows)))
            ;; the group's five window rows, the rows past the last one repeating it
            (local.set $t (i32.sub (local.get $rows) (i32.const 1)))
            (call $zeroF32 (local.get $st) (i32.const 80))
            (i32.store offset=320 (local.get $st) (i32.const 256))
            (i32.store offset=324 (local.get $st) (call $windowRow (local.get $g) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=328 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 1)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 1)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=332 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 2)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 2)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=336 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 3)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 3)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=340 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 4)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 4)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (local.set $st (i32.add (local.get $st) (i32.const 352)))
            (local.set $g (i32.add (local.get $g) (i32.const 5)))
            (br $igloop)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $iloop)))
    ;; image by image (its x stays in L1, and the planes of dy, out and arg are read in memory order), each filter's plane
    ;; of lists built once, then read by each of the filter's groups
    (local.set $n (i32.const 0))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $xn (i32.add (local.get $x) (i32.mul (local.get $n) (local.get $imgBytes))))
        (local.set $nP (i32.mul (local.get $n) (local.get $P)))
        (local.set $st (local.get $states))
        (local.set $f (local.get $f0))
        (block $fdone
          (loop $floop
            (br_if $fdone (i32.ge_u (local.get $f) (local.get $f1)))
            (local.set $dbf (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2))))
            ;; the plane's lists, pooled row by pooled row
            (local.set $py (i32.const 0))
            (block $ydone
              (loop $yloop
                (br_if $ydone (i32.ge_u (local.get $py) (local.get $PH)))
                (local.set $o (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $FN)) (local.get $f)) (local.get $PH)) (local.get $py)) (local.get $PW)))
                (local.set $w0 (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $FN)) (local.get $f)) (local.get $OH)) (i32.shl (local.get $py) (i32.const 1))) (local.get $OW)))
                (local.set $xbT (i32.add (local.get $lists) (i32.mul (i32.shl (local.get $py) (i32.const 1)) (local.get $rowBytes))))
                (local.set $xbB (i32.add (local.get $xbT) (local.get $rowBytes)))
                (local.set $rowT (i32.add (local.get $xbT) (i32.mul (local.get $L4) (i32.const 3))))
                (local.set $rowB (i32.add (local.get $xbB) (i32.mul (local.get $L4) (i32.const 3))))
                (local.set $nt (i32.const 0))
                (local.set $nb (i32.const 0))
                (local.set $px (i32.const 0))
                ;; per pooled row: the top conv row's first index in the conv output, the x address of its window
                ;; rows' start and its first r; per window lane, x = 2*px + 2*lane and its x address offset
                (local.set $vW0 (i32x4.splat (local.get $w0)))
                (local.set $vTop (i32x4.splat (i32.add (local.get $xn) (i32.mul (i32.shl (local.get $py) (i32.const 1)) (local.get $rowX)))))
                (local.set $vR (i32x4.splat (i32.add (local.get $nP) (i32.mul (i32.shl (local.get $py) (i32.const 1)) (local.get $OW)))))
                (local.set $pxv (v128.const i32x4 0 1 2 3))
                (local.set $rx (v128.const i32x4 0 2 4 6))
                (local.set $xcol (i32x4.mul (v128.const i32x4 0 2 4 6) (local.get $sColX)))
                (block $xdone
                  (loop $xloop
                    (br_if $xdone (i32.ge_u (local.get $px) (local.get $PW)))
                    ;; windows px .. px+3 (lanes past PW invalid); d = arg - the window's top left: 0, 1, OW or OW+1
                    (local.set $valid (i32x4.lt_s (local.get $pxv) (local.get $sPW)))
                    (local.set $d (i32x4.sub (v128.load (i32.add (local.get $arg) (i32.shl (local.get $o) (i32.const 2))))
                      (i32x4.add (local.get $vW0) (local.get $rx))))
                    (local.set $isBot (i32x4.ge_u (local.get $d) (local.get $sOW)))
                    (local.set $col (i32x4.sub (local.get $d) (v128.and (local.get $isBot) (local.get $sOW))))
                    (if (v128.any_true (v128.and (local.get $valid) (i32x4.ge_u (local.get $col) (v128.const i32x4 2 2 2 2))))
                      (then (i32.store (local.get $scratch) (i32.const 1))))
                    ;; (an arg outside its window is flagged; & 1 keeps the addresses below inside the images)
                    (local.set $col (v128.and (local.get $col) (v128.const i32x4 1 1 1 1)))
                    (local.set $v (v128.and (local.get $valid) (f32x4.add (v128.const i32x4 0 0 0 0)
                      (v128.andnot (v128.load (i32.add (local.get $dy) (i32.shl (local.get $o) (i32.const 2))))
                        (f32x4.le (v128.load (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))) (v128.const i32x4 0 0 0 0))))))
                    (v128.store (i32.add (local.get $rowT) (i32.shl (local.get $px) (i32.const 2))) (v128.andnot (local.get $v) (local.get $isBot)))
                    (v128.store (i32.add (local.get $rowB) (i32.shl (local.get $px) (i32.const 2))) (v128.and (local.get $v) (local.get $isBot)))
                    (local.set $keep (f32x4.ne (local.get $v) (v128.const i32x4 0 0 0 0)))
                    ;; the window's x address: its top row's, one conv row (stride image rows) down when at the bottom,
                    ;; one conv column (stride floats) right when in the right column; r likewise
                    (local.set $xb (i32x4.add (i32x4.add (local.get $vTop) (local.get $xcol))
                      (i32x4.add (v128.and (local.get $isBot) (local.get $sBotX)) (v128.and (i32x4.neg (local.get $col)) (local.get $sColX)))))
                    (local.set $rv (i32x4.add (i32x4.add (local.get $vR) (local.get $rx))
                      (i32x4.add (v128.and (local.get $isBot) (local.get $sOW)) (local.get $col))))
                    ;; top row: lanes kept and not in the bottom row, moved to the front of the list's end
                    (local.set $m (i32x4.bitmask (v128.andnot (local.get $keep) (local.get $isBot))))
                    (local.set $sh (v128.load (i32.add (i32.add (local.get $scratch) (i32.const 64)) (i32.shl (local.get $m) (i32.const 4)))))
                    (local.set $e (i32.add (local.get $xbT) (i32.shl (local.get $nt) (i32.const 2))))
                    (v128.store (local.get $e) (i8x16.swizzle (local.get $xb) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (local.get $L4)) (i8x16.swizzle (local.get $v) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1))) (i8x16.swizzle (local.get $rv) (local.get $sh)))
                    (local.set $nt (i32.add (local.get $nt) (i32.popcnt (local.get $m))))
                    ;; bottom row
                    (local.set $m (i32x4.bitmask (v128.and (local.get $keep) (local.get $isBot))))
                    (local.set $sh (v128.load (i32.add (i32.add (local.get $scratch) (i32.const 64)) (i32.shl (local.get $m) (i32.const 4)))))
                    (local.set $e (i32.add (local.get $xbB) (i32.shl (local.get $nb) (i32.const 2))))
                    (v128.store (local.get $e) (i8x16.swizzle (local.get $xb) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (local.get $L4)) (i8x16.swizzle (local.get $v) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1))) (i8x16.swizzle (local.get $rv) (local.get $sh)))
                    (local.set $nb (i32.add (local.get $nb) (i32.popcnt (local.get $m))))
                    (local.set $o (i32.add (local.get $o) (i32.const 4)))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $pxv (i32x4.add (local.get $pxv) (v128.const i32x4 4 4 4 4)))
                    (local.set $rx (i32x4.add (local.get $rx) (v128.const i32x4 8 8 8 8)))
                    (local.set $xcol (i32x4.add (local.get $xcol) (local.get $stepX)))
                    (br $xloop)))
                (i32.store (i32.add (local.get $cnt) (i32.shl (local.get $py) (i32.const 3))) (local.get $nt))
                (i32.store offset=4 (i32.add (local.get $cnt) (i32.shl (local.get $py) (i32.const 3))) (local.get $nb))
                (local.set $py (i32.add (local.get $py) (i32.const 1)))
                (br $yloop)))
            (local.set $s (f32.const 0))
            (local.set $g (i32.const 0))
            (block $gdone
              (loop $gloop
                (br_if $gdone (i32.ge_u (local.get $g) (local.get $rows)))
                (local.set $cst (i32.add (local.get $st) (i32.const 160)))
                (local.set $a00 (v128.load offset=0 (local.get $st)))
                (local.set $a01 (v128.load offset=16 (local.get $st)))
                (local.set $a10 (v128.load offset=32 (local.get $st)))
                (local.set $a11 (v128.load offset=48 (local.get $st)))
                (local.set $a20 (v128.load offset=64 (local.get $st)))
                (local.set $a21 (v128.load offset=80 (local.get $st)))
                (local.set $a30 (v128.load offset=96 (local.get $st)))
                (local.set $a31 (v128.load offset=112 (local.get $st)))
                (local.set $a40 (v128.load offset=128 (local.get $st)))
                (local.set $a41 (v128.load offset=144 (local.get $st)))
                (local.set $nextB (i32.load offset=320 (local.get $st)))
                (local.set $o0 (i32.load offset=324 (local.get $st)))
                (local.set $o1 (i32.load offset=328 (local.get $st)))
                (local.set $o2 (i32.load offset=332 (local.get $st)))
                (local.set $o3 (i32.load offset=336 (local.get $st)))
                (local.set $o4 (i32.load offset=340 (local.get $st)))
                ;; then the conv rows' lists in order
                (local.set $y (i32.const 0))
                (block $passdone
                  (loop $passloop
                    (br_if $passdone (i32.ge_u (local.get $y) (i32.shl (local.get $PH) (i32.const 1))))
                    (local.set $e (i32.add (local.get $lists) (i32.mul (local.get $y) (local.get $rowBytes))))
                    (local.set $eEnd (i32.add (local.get $e) (i32.shl (i32.load (i32.add (local.get $cnt) (i32.shl (local.get $y) (i32.const 2)))) (i32.const 2))))
                    (block $edone
                      (loop $eloop
                        (br_if $edone (i32.ge_u (local.get $e) (local.get $eEnd)))
                        (if (i32.ge_u (i32.load (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1)))) (local.get $nextB))
                          (then
                            (v128.store offset=0 (local.get $cst) (f32x4.add (local.get $a00) (v128.load offset=0 (local.get $cst))))
                            (v128.store offset=16 (local.get $cst) (f32x4.add (local.get $a01) (v128.load offset=16 (local.get $cst))))
                            (v128.store offset=32 (local.get $cst) (f32x4.add (local.get $a10) (v128.load offset=32 (local.get $cst))))
                            (v128.store offset=48 (local.get $cst) (f32x4.add (local.get $a11) (v128.load offset=48 (local.get $cst))))
                            (v128.store offset=64 (local.get $cst) (f32x4.add (local.get $a20) (v128.load offset=64 (local.get $cst))))
                            (v128.store offset=80 (local.get $cst) (f32x4.add (local.get $a21) (v128.load offset=80 (local.get $cst))))
                            (v128.store offset=96 (local.get $cst) (f32x4.add (local.get $a30) (v128.load offset=96 (local.get $cst))))
                            (v128.store offset=112 (local.get $cst) (f32x4.add (local.get $a31) (v128.load offset=112 (local.get $cst))))
                            (v128.store offset=128 (local.get $cst) (f32x4.add (local.get $a40) (v128.load offset=128 (local.get $cst))))
                            (v128.store offset=144 (local.get $cst) (f32x4.add (local.get $a41) (v128.load offset=144 (local.get $cst))))
                            (local.set $a00 (v128.const i32x4 0 0 0 0))
                            (local.set $a01 (v128.const i32x4 0 0 0 0))
                            (local.set $a10 (v128.const i32x4 0 0 0 0))
                            (local.set $a11 (v128.const i32x4 0 0 0 0))
                            (local.set $a20 (v128.const i32x4 0 0 0 0))
                            (local.set $a21 (v128.const i32x4 0 0 0 0))
                            (local.set $a30 (v128.const i32x4 0 0 0 0))
                            (local.set $a31 (v128.const i32x4 0 0 0 0))
                            (local.set $a40 (v128.const i32x4 0 0 0 0))
                            (local.set $a41 (v128.const i32x4 0 0 0 0))
                            (local.set $nextB (i32.add (i32.and (i32.load (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1)))) (i32.const -256)) (i32.const 256)))))
                        (local.set $vs (v128.load32_splat (i32.add (local.get $e) (local.get $L4))))
                        (local.set $t (i32.load (local.get $e)))
                        (local.set $xa (i32.add (local.get $t) (local.get $o0)))
                        (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o1)))
                        (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o2)))
                        (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o3)))
                        (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o4)))
                        (local.set $a40 (f32x4.add (local.get $a40) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a41 (f32x4.add (local.get $a41) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $e (i32.add (local.get $e) (i32.const 4)))
                        (br $eloop)))
                    ;; db, once per filter (in the first group), in $packDy's order, from the row's values
                    (if (i32.eqz (local.get $g))
                      (then
                        (local.set $vals (i32.add (i32.add (local.get $lists) (i32.mul (local.get $y) (local.get $rowBytes))) (i32.mul (local.get $L4) (i32.const 3))))
                        (local.set $px (i32.const 0))
                        (if (i32.lt_u (local.get $f) (local.get $fn4))
                          (then
                            ;; s += the sum of each group of 4 of the conv row: two windows, left then right
                            (block $sdone
                              (loop $sloop
                                (br_if $sdone (i32.ge_u (local.get $px) (local.get $PW)))
                                (local.set $t (i32.add (local.get $vals) (i32.shl (local.get $px) (i32.const 2))))
                                (local.set $s (f32.add (local.get $s) (f32.add (f32.load (local.get $t)) (f32.load offset=4 (local.get $t)))))
                                (local.set $px (i32.add (local.get $px) (i32.const 2)))
                                (br $sloop))))
                          (else
                            ;; a channel past the groups of 4: each value added to db in turn
                            (block $udone
                              (loop $uloop
                                (br_if $udone (i32.ge_u (local.get $px) (local.get $PW)))
                                (f32.store (local.get $dbf) (f32.add (f32.load (i32.add (local.get $vals) (i32.shl (local.get $px) (i32.const 2)))) (f32.load (local.get $dbf))))
                                (local.set $px (i32.add (local.get $px) (i32.const 1)))
                                (br $uloop)))))))
                    (local.set $y (i32.add (local.get $y) (i32.const 1)))
                    (br $passloop)))
                (v128.store offset=0 (local.get $st) (local.get $a00))
                (v128.store offset=16 (local.get $st) (local.get $a01))
                (v128.store offset=32 (local.get $st) (local.get $a10))
                (v128.store offset=48 (local.get $st) (local.get $a11))
                (v128.store offset=64 (local.get $st) (local.get $a20))
                (v128.store offset=80 (local.get $st) (local.get $a21))
                (v128.store offset=96 (local.get $st) (local.get $a30))
                (v128.store offset=112 (local.get $st) (local.get $a31))
                (v128.store offset=128 (local.get $st) (local.get $a40))
                (v128.store offset=144 (local.get $st) (local.get $a41))
                (i32.store offset=320 (local.get $st) (local.get $nextB))
                (local.set $st (i32.add (local.get $st) (i32.const 352)))
                (local.set $g (i32.add (local.get $g) (i32.const 5)))
                (br $gloop)))
            (if (i32.lt_u (local.get $f) (local.get $fn4))
              (then (f32.store (local.get $dbf) (f32.add (local.get $s) (f32.load (local.get $dbf))))))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $floop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $nloop)))
    ;; the last blocks added to C, and dWᵀ[k, f] for each group's rows, k = row*FW + fx
    (local.set $st (local.get $states))
    (local.set $f (local.get $f0))
    (block $odone
      (loop $oloop
        (br_if $odone (i32.ge_u (local.get $f) (local.get $f1)))
        (local.set $g (i32.const 0))
        (block $ogdone
          (loop $ogloop
            (br_if $ogdone (i32.ge_u (local.get $g) (local.get $rows)))
            (v128.store offset=160 (local.get $st) (f32x4.add (v128.load offset=0 (local.get $st)) (v128.load offset=160 (local.get $st))))
            (v128.store offset=176 (local.get $st) (f32x4.add (v128.load offset=16 (local.get $st)) (v128.load offset=176 (local.get $st))))
            (v128.store offset=192 (local.get $st) (f32x4.add (v128.load offset=32 (local.get $st)) (v128.load offset=192 (local.get $st))))
            (v128.store offset=208 (local.get $st) (f32x4.add (v128.load offset=48 (local.get $st)) (v128.load offset=208 (local.get $st))))
            (v128.store offset=224 (local.get $st) (f32x4.add (v128.load offset=64 (local.get $st)) (v128.load offset=224 (local.get $st))))
            (v128.store offset=240 (local.get $st) (f32x4.add (v128.load offset=80 (local.get $st)) (v128.load offset=240 (local.get $st))))
            (v128.store offset=256 (local.get $st) (f32x4.add (v128.load offset=96 (local.get $st)) (v128.load offset=256 (local.get $st))))
            (v128.store offset=272 (local.get $st) (f32x4.add (v128.load offset=112 (local.get $st)) (v128.load offset=272 (local.get $st))))
            (v128.store offset=288 (local.get $st) (f32x4.add (v128.load offset=128 (local.get $st)) (v128.load offset=288 (local.get $st))))
            (v128.store offset=304 (local.get $st) (f32x4.add (v128.load offset=144 (local.get $st)) (v128.load offset=304 (local.get $st))))
            (local.set $i (i32.const 0))
            (block $wdone
              (loop $wloop
                (br_if $wdone (i32.or (i32.ge_u (local.get $i) (i32.const 5)) (i32.ge_u (i32.add (local.get $g) (local.get $i)) (local.get $rows))))
                (local.set $fx (i32.const 0))
                (block $fxdone
                  (loop $fxloop
                    (br_if $fxdone (i32.ge_u (local.get $fx) (local.get $FW)))
                    (f32.store (i32.add (local.get $dwt) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $g) (local.get $i)) (local.get $FW)) (local.get $fx)) (local.get $FN)) (local.get $f)) (i32.const 2)))
                      (f32.load offset=160 (i32.add (local.get $st) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $fx)) (i32.const 2)))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $fxloop)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $wloop)))
            (local.set $st (i32.add (local.get $st) (i32.const 352)))
            (local.set $g (i32.add (local.get $g) (i32.const 5)))
            (br $ogloop)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $oloop))))

  ;; Bytes per filter in $poolFilterGrad's scratch: its groups' states (352 bytes per five window rows), and room for
  ;; the lists of one plane, 4*(OH rounded up to 4) + OH*16*(OW/2 + 4), which a chunk keeps after its filters' states.
  (func $pfgSlotBytes (export "pfgSlotBytes") (param $OH i32) (param $OW i32) (param $rows i32) (result i32)
    (i32.add (i32.mul (i32.div_u (i32.add (local.get $rows) (i32.const 4)) (i32.const 5)) (i32.const 352))
      (i32.add (i32.shl (i32.and (i32.add (local.get $OH) (i32.const 3)) (i32.const -4)) (i32.const 2))
        (i32.shl (i32.mul (local.get $OH) (i32.add (i32.shr_u (local.get $OW) (i32.const 1)) (i32.const 4))) (i32.const 4)))))
)
