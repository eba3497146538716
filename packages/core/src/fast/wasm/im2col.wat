;; im2col and its adjoint col2im, over ranges of rows or images so that threads can split them.

  ;; im2col rows [r0, r1) (row r = (n, oy, ox) of the lesson's layout, n = r / (OH*OW)) of x [N, C, H, W] at $x into
  ;; col [N*OH*OW, C*FH*FW], columns (c, fy, fx), at dst (row 0's address: row r starts C*FH*FW floats further per
  ;; row). Padding is written as 0 (dst need not be cleared); per window row the filter columns fx in [lo, hi) lie
  ;; inside the image and are copied four at a time where they can be (the lesson's 5x5 filter: one vector and one
  ;; float). A row range, so threads can split one im2col (see threads.ts).
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

  ;; The input gradient of a convolution by a GEMM and col2im, image by image: for each image n of [n0, n1),
  ;; dcol_n [P, Kc] = dRows_n . W, dRows_n [P, FN] read in place as the transpose of dy_n [FN, P] (dy [N, FN, P] at $dy)
  ;; and W [FN, Kc] at $bp, packed by $packB with its columns in the order (fy, fx, c), then dcol_n folded into dx's
  ;; image n (dx [N, C, H, W] at $dst) by $col2imGather, or $col2imDisjoint where no windows overlap. Each element of dcol
  ;; is the same sum over the filters as one GEMM over all N*P rows makes it ($gemmRows: in order, in blocks of 256; the
  ;; order of B's columns changes none), and both fold them in $col2im's order, so dx has the bits of a GEMM then col2im;
  ;; but dcol_n (P*Kc floats, 56 KiB for 7x7 pixels of 32x3x3) stays in L2 between the GEMM's stores and the fold's
  ;; loads, where the whole dcol [N*P, Kc] went to memory and back, and dy needs no transposed copy. Every image of the
  ;; chunk uses image n0's slot of $scratch, $slotBytes an image (threads take disjoint image ranges, so they never share
  ;; one; kernels.ts's gemmDxAreas sizes them): dcol_n, then 4*FH*FW + H*(FH + 1) + W*(FW + 1) i32 for the gather.
  (func $gemmCol2imImages (export "gemmCol2imImages")
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $FN i32) (param $bp i32) (param $scratch i32) (param $slotBytes i32)
    (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32) (param $stride i32) (param $pad i32)
    (param $OH i32) (param $OW i32) (param $dst i32)
    (local $P i32) (local $Kc i32) (local $slot i32) (local $n i32) (local $dcolBytes i32) (local $dxn i32)
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $Kc (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW))))
    (local.set $dcolBytes (i32.shl (i32.mul (local.get $P) (local.get $Kc)) (i32.const 2)))
    (local.set $slot (i32.add (local.get $scratch) (i32.mul (local.get $n0) (local.get $slotBytes))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        ;; A[p, f] = dy[n, f, p]: rows 1 float apart, columns P floats apart (no filters, FN = 0: no sums, dcol_n is 0)
        (if (i32.eqz (local.get $FN)) (then (memory.fill (local.get $slot) (i32.const 0) (local.get $dcolBytes))))
        (call $gemmRows (i32.const 0) (local.get $P) (local.get $Kc) (local.get $FN)
          (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P)) (i32.const 2)))
          (i32.const 1) (local.get $P) (local.get $bp) (local.get $slot) (local.get $Kc) (i32.const 0) (i32.const 0) (i32.const 0))
        ;; then dcol_n into dx's image n: where no windows overlap (stride >= FH and FW) each element takes one entry or none
        (local.set $dxn (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
        (if (i32.and (i32.ge_s (local.get $stride) (local.get $FH)) (i32.ge_s (local.get $stride) (local.get $FW)))
          (then
            (call $col2imDisjoint (local.get $slot) (local.get $C) (local.get $H) (local.get $W)
              (local.get $FH) (local.get $FW) (local.get $stride) (local.get $pad) (local.get $OH) (local.get $OW) (local.get $dxn)))
          (else
            (call $col2imGather (local.get $slot) (i32.add (local.get $slot) (local.get $dcolBytes)) (local.get $C) (local.get $H) (local.get $W)
              (local.get $FH) (local.get $FW) (local.get $stride) (local.get $pad) (local.get $OH) (local.get $OW) (local.get $dxn))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $images))))

  ;; col2im of one image where no two windows overlap (stride >= FH and FW: a 1x1 stride-2 shortcut): each element of dx
  ;; [C, H, W] at $dst takes at most one dcol entry, so it is 0 + that entry ($col2im's sum of one term), which is the
  ;; entry itself (a GEMM's sum starts from +0, so it is never -0), or 0. dx is zeroed, then each entry stored where it
  ;; lands, four channels at a time (dcol [P, Kc] at $src, columns (fy, fx, c)). The gather would visit every pixel, 3 in
  ;; 4 of them without an entry, for a 1x1 stride-2 shortcut.
  (func $col2imDisjoint
    (param $src i32) (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32)
    (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $oy i32) (local $ox i32) (local $fy i32) (local $fx i32) (local $iy i32) (local $ix i32) (local $c i32) (local $C4 i32)
    (local $plane4 i32) (local $at i32) (local $from i32) (local $v v128)
    (local.set $plane4 (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $C4 (i32.and (local.get $C) (i32.const -4)))
    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $C) (local.get $plane4)))
    ;; dcol's entries in order: row (oy, ox), then (fy, fx), C floats each
    (local.set $from (local.get $src))
    (local.set $oy (i32.const 0))
    (block $ydone
      (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $ox (i32.const 0))
        (block $xdone
          (loop $xloop
            (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
            (local.set $fy (i32.const 0))
            (block $fydone
              (loop $fyloop
                (br_if $fydone (i32.ge_u (local.get $fy) (local.get $FH)))
                (local.set $fx (i32.const 0))
                (block $fxdone
                  (loop $fxloop
                    (br_if $fxdone (i32.ge_u (local.get $fx) (local.get $FW)))
                    ;; (iy, ix) inside the image (unsigned: a negative one is past H or W)
                    (local.set $iy (i32.sub (i32.add (i32.mul (local.get $stride) (local.get $oy)) (local.get $fy)) (local.get $pad)))
                    (local.set $ix (i32.sub (i32.add (i32.mul (local.get $stride) (local.get $ox)) (local.get $fx)) (local.get $pad)))
                    (if (i32.and (i32.lt_u (local.get $iy) (local.get $H)) (i32.lt_u (local.get $ix) (local.get $W)))
                      (then
                        (local.set $at (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
                        (local.set $c (i32.const 0))
                        (block $cdone
                          (loop $cloop
                            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C4)))
                            (local.set $v (v128.load (i32.add (local.get $from) (i32.shl (local.get $c) (i32.const 2)))))
                            (f32.store (local.get $at) (f32x4.extract_lane 0 (local.get $v)))
                            (f32.store (i32.add (local.get $at) (local.get $plane4)) (f32x4.extract_lane 1 (local.get $v)))
                            (f32.store (i32.add (local.get $at) (i32.shl (local.get $plane4) (i32.const 1))) (f32x4.extract_lane 2 (local.get $v)))
                            (f32.store (i32.add (local.get $at) (i32.mul (local.get $plane4) (i32.const 3))) (f32x4.extract_lane 3 (local.get $v)))
                            (local.set $at (i32.add (local.get $at) (i32.shl (local.get $plane4) (i32.const 2))))
                            (local.set $c (i32.add (local.get $c) (i32.const 4)))
                            (br $cloop)))
                        (block $c1done
                          (loop $c1loop
                            (br_if $c1done (i32.ge_u (local.get $c) (local.get $C)))
                            (f32.store (local.get $at) (f32.load (i32.add (local.get $from) (i32.shl (local.get $c) (i32.const 2)))))
                            (local.set $at (i32.add (local.get $at) (local.get $plane4)))
                            (local.set $c (i32.add (local.get $c) (i32.const 1)))
                            (br $c1loop)))))
                    (local.set $from (i32.add (local.get $from) (i32.shl (local.get $C) (i32.const 2))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $fxloop)))
                (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
                (br $fyloop)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop))))

  ;; col2im of one image as a gather: dx [C, H, W] at $dst, dx[c, iy, ix] = 0 + the sum of the dcol entries that
  ;; $col2im adds to it, in its order (rows (oy, ox) ascending), from dcol [P, Kc] at $src whose columns are in the order
  ;; (fy, fx, c): entry (oy, ox, fy, fx) with fy = iy + pad - stride*oy, fx = ix + pad - stride*ox inside the filter.
  ;; Four pixels of a row at a time (the last four of a row may overlap the four before): the addresses of each one's
  ;; entries go to its list at $taps ($pixelTaps, FH*FW i32 each, from the windows over each row and column of dx that
  ;; $windowEntries lists after them, once per image), then per four channels the four pixels' sums are made as vectors
  ;; (an entry's channels are adjacent), turned 4 x 4 and stored as a vector per channel; the pixels of a row narrower
  ;; than 4 one at a time, their channels one by one. No scatter, no read-modify-write of dx: each element is written
  ;; once.
  (func $col2imGather
    (param $src i32) (param $taps i32) (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32)
    (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $iy i32) (local $ix i32) (local $list i32) (local $rowBytes i32) (local $plane4 i32) (local $c i32) (local $C4 i32)
    (local $rows i32) (local $cols i32) (local $colBytes i32) (local $rowList i32)
    (local $at i32) (local $pt i32) (local $c4 i32) (local $t0 i32) (local $t1 i32) (local $t2 i32) (local $t3 i32) (local $e0 i32) (local $e1 i32) (local $e2 i32) (local $e3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    ;; bytes of a dcol row, of a plane of dx, and of one pixel's list of entries
    (local.set $rowBytes (i32.shl (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW))) (i32.const 2)))
    (local.set $plane4 (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $list (i32.shl (i32.mul (local.get $FH) (local.get $FW)) (i32.const 2)))
    (local.set $C4 (i32.and (local.get $C) (i32.const -4)))
    (local.set $t0 (local.get $taps))
    (local.set $t1 (i32.add (local.get $t0) (local.get $list)))
    (local.set $t2 (i32.add (local.get $t1) (local.get $list)))
    (local.set $t3 (i32.add (local.get $t2) (local.get $list)))
    ;; then the windows over each row of dx (H lists of FH + 1 i32) and each column (W lists of FW + 1)
    (local.set $rows (i32.add (local.get $t3) (local.get $list)))
    (local.set $cols (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $H) (i32.add (local.get $FH) (i32.const 1))) (i32.const 2))))
    (local.set $colBytes (i32.shl (i32.add (local.get $FW) (i32.const 1)) (i32.const 2)))
    (call $windowEntries (local.get $rows) (local.get $H) (local.get $FH) (local.get $stride) (local.get $pad) (local.get $OH)
      (i32.mul (local.get $OW) (local.get $rowBytes)) (i32.shl (i32.mul (local.get $FW) (local.get $C)) (i32.const 2)))
    (call $windowEntries (local.get $cols) (local.get $W) (local.get $FW) (local.get $stride) (local.get $pad) (local.get $OW)
      (local.get $rowBytes) (i32.shl (local.get $C) (i32.const 2)))
    (local.set $iy (i32.const 0))
    (block $ydone
      (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $iy) (local.get $H)))
        (local.set $rowList (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $iy) (i32.add (local.get $FH) (i32.const 1))) (i32.const 2))))
        (local.set $ix (i32.const 0))
        (block $xdone
          (loop $xloop
            (br_if $xdone (i32.gt_u (i32.add (local.get $ix) (i32.const 4)) (local.get $W)))
            (local.set $e0 (call $pixelTaps (local.get $src) (local.get $t0) (local.get $rowList) (i32.add (local.get $cols) (i32.mul (local.get $ix) (local.get $colBytes)))))
            (local.set $e1 (call $pixelTaps (local.get $src) (local.get $t1) (local.get $rowList) (i32.add (local.get $cols) (i32.mul (i32.add (local.get $ix) (i32.const 1)) (local.get $colBytes)))))
            (local.set $e2 (call $pixelTaps (local.get $src) (local.get $t2) (local.get $rowList) (i32.add (local.get $cols) (i32.mul (i32.add (local.get $ix) (i32.const 2)) (local.get $colBytes)))))
            (local.set $e3 (call $pixelTaps (local.get $src) (local.get $t3) (local.get $rowList) (i32.add (local.get $cols) (i32.mul (i32.add (local.get $ix) (i32.const 3)) (local.get $colBytes)))))
            (local.set $at (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
            (local.set $c (i32.const 0))
            (block $cdone
              (loop $cloop
                (br_if $cdone (i32.ge_u (local.get $c) (local.get $C4)))
                ;; pixel ix + j: 0 + its entries' four floats at channel c, in its list's order (inline: a call per
                ;; pixel cost about as much as its sums)
                (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $pt (local.get $t0))
                (block $s0done
                  (loop $s0
                    (br_if $s0done (i32.ge_u (local.get $pt) (local.get $e0)))
                    (local.set $a0 (f32x4.add (local.get $a0) (v128.load (i32.add (i32.load (local.get $pt)) (local.get $c4)))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s0)))
                (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $pt (local.get $t1))
                (block $s1done
                  (loop $s1
                    (br_if $s1done (i32.ge_u (local.get $pt) (local.get $e1)))
                    (local.set $a1 (f32x4.add (local.get $a1) (v128.load (i32.add (i32.load (local.get $pt)) (local.get $c4)))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s1)))
                (local.set $a2 (v128.const i32x4 0 0 0 0))
                (local.set $pt (local.get $t2))
                (block $s2done
                  (loop $s2
                    (br_if $s2done (i32.ge_u (local.get $pt) (local.get $e2)))
                    (local.set $a2 (f32x4.add (local.get $a2) (v128.load (i32.add (i32.load (local.get $pt)) (local.get $c4)))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s2)))
                (local.set $a3 (v128.const i32x4 0 0 0 0))
                (local.set $pt (local.get $t3))
                (block $s3done
                  (loop $s3
                    (br_if $s3done (i32.ge_u (local.get $pt) (local.get $e3)))
                    (local.set $a3 (f32x4.add (local.get $a3) (v128.load (i32.add (i32.load (local.get $pt)) (local.get $c4)))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s3)))
                ;; a_j holds pixel ix + j's channels c .. c+3: turned, channel c + r's four pixels
                (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
                (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
                (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
                (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
                (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
                (v128.store (i32.add (local.get $at) (local.get $plane4)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
                (v128.store (i32.add (local.get $at) (i32.shl (local.get $plane4) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
                (v128.store (i32.add (local.get $at) (i32.mul (local.get $plane4) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
                (local.set $at (i32.add (local.get $at) (i32.shl (local.get $plane4) (i32.const 2))))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br $cloop)))
            ;; the last C mod 4 channels of the four pixels
            (block $c1done
              (loop $c1loop
                (br_if $c1done (i32.ge_u (local.get $c) (local.get $C)))
                (f32.store (local.get $at) (call $sumTap1 (local.get $t0) (local.get $e0) (i32.shl (local.get $c) (i32.const 2))))
                (f32.store offset=4 (local.get $at) (call $sumTap1 (local.get $t1) (local.get $e1) (i32.shl (local.get $c) (i32.const 2))))
                (f32.store offset=8 (local.get $at) (call $sumTap1 (local.get $t2) (local.get $e2) (i32.shl (local.get $c) (i32.const 2))))
                (f32.store offset=12 (local.get $at) (call $sumTap1 (local.get $t3) (local.get $e3) (i32.shl (local.get $c) (i32.const 2))))
                (local.set $at (i32.add (local.get $at) (local.get $plane4)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $c1loop)))
            ;; the next four, or the row's last four when fewer are left (a few pixels made twice, the same values)
            (br_if $xdone (i32.eq (i32.add (local.get $ix) (i32.const 4)) (local.get $W)))
            (local.set $ix (i32.add (local.get $ix) (i32.const 4)))
            (if (i32.gt_u (i32.add (local.get $ix) (i32.const 4)) (local.get $W))
              (then (local.set $ix (i32.sub (local.get $W) (i32.const 4)))))
            (br $xloop)))
        ;; a row narrower than 4, one pixel at a time (a wider one is done)
        (if (i32.ge_u (local.get $W) (i32.const 4)) (then (local.set $ix (local.get $W))))
        (block $x1done
          (loop $x1loop
            (br_if $x1done (i32.ge_u (local.get $ix) (local.get $W)))
            (local.set $e0 (call $pixelTaps (local.get $src) (local.get $t0) (local.get $rowList) (i32.add (local.get $cols) (i32.mul (local.get $ix) (local.get $colBytes)))))
            (local.set $at (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
            (local.set $c (i32.const 0))
            (block $c2done
              (loop $c2loop
                (br_if $c2done (i32.ge_u (local.get $c) (local.get $C)))
                (f32.store (local.get $at) (call $sumTap1 (local.get $t0) (local.get $e0) (i32.shl (local.get $c) (i32.const 2))))
                (local.set $at (i32.add (local.get $at) (local.get $plane4)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $c2loop)))
            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
            (br $x1loop)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br $yloop))))

  ;; For each position i < $n of a row (or column) of dx, the windows that cover it, o ascending: o < $count with
  ;; f = i + pad - stride*o in [0, $F). At $out + 4*i*(F + 1): their number, then o*$oStep + f*$fStep (bytes) for each.
  (func $windowEntries (param $out i32) (param $n i32) (param $F i32) (param $stride i32) (param $pad i32) (param $count i32)
    (param $oStep i32) (param $fStep i32)
    (local $i i32) (local $o i32) (local $f i32) (local $at i32) (local $end i32)
    (local.set $i (i32.const 0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $out) (i32.shl (i32.mul (local.get $i) (i32.add (local.get $F) (i32.const 1))) (i32.const 2))))
        (local.set $end (i32.add (local.get $at) (i32.const 4)))
        (local.set $o (i32.const 0))
        (block $odone
          (loop $oloop
            (br_if $odone (i32.ge_s (local.get $o) (local.get $count)))
            (local.set $f (i32.sub (i32.add (local.get $i) (local.get $pad)) (i32.mul (local.get $stride) (local.get $o))))
            ;; f only falls as o grows: below 0, no later window covers i
            (br_if $odone (i32.lt_s (local.get $f) (i32.const 0)))
            (if (i32.lt_s (local.get $f) (local.get $F))
              (then
                (i32.store (local.get $end) (i32.add (i32.mul (local.get $o) (local.get $oStep)) (i32.mul (local.get $f) (local.get $fStep))))
                (local.set $end (i32.add (local.get $end) (i32.const 4)))))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (br $oloop)))
        (i32.store (local.get $at) (i32.shr_u (i32.sub (local.get $end) (i32.add (local.get $at) (i32.const 4))) (i32.const 2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop))))

  ;; The addresses of the dcol entries col2im adds to one pixel, rows (oy, ox) ascending: $src + each of its row's
  ;; entries ($rowList, from $windowEntries) + each of its column's ($colList), written from $taps on; gives the list's end.
  (func $pixelTaps (param $src i32) (param $taps i32) (param $rowList i32) (param $colList i32) (result i32)
    (local $r i32) (local $rend i32) (local $c i32) (local $cend i32) (local $base i32)
    (local.set $r (i32.add (local.get $rowList) (i32.const 4)))
    (local.set $rend (i32.add (local.get $r) (i32.shl (i32.load (local.get $rowList)) (i32.const 2))))
    (local.set $cend (i32.add (i32.add (local.get $colList) (i32.const 4)) (i32.shl (i32.load (local.get $colList)) (i32.const 2))))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
        (local.set $base (i32.add (local.get $src) (i32.load (local.get $r))))
        (local.set $c (i32.add (local.get $colList) (i32.const 4)))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $cend)))
            (i32.store (local.get $taps) (i32.add (local.get $base) (i32.load (local.get $c))))
            (local.set $taps (i32.add (local.get $taps) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop)))
    (local.get $taps))

  ;; 0 + the float at each entry of the list [$pt, $end), plus $c bytes, in the list's order.
  (func $sumTap1 (param $pt i32) (param $end i32) (param $c i32) (result f32)
    (local $acc f32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $pt) (local.get $end)))
        (local.set $acc (f32.add (local.get $acc) (f32.load (i32.add (i32.load (local.get $pt)) (local.get $c)))))
        (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
        (br $next)))
    (local.get $acc))
