;; Zero padding of images, for the convolutions that read the padded image in place (conv.wat, pool-filter-grad.wat,
;; winograd.wat).

  ;; Planes [p0, p1) of H x W floats at $src -> planes of Hq x Wq floats at $dst (Hq >= H + pad, Wq >= W + pad), the
  ;; image at row and column $pad, every other float 0 (winograd.wat's tiles read past the image's far edges too). Each
  ;; float of a plane is written once: the rows above and below the image zeroed whole, each image row's left and right
  ;; margins float by float around its copy (four floats at a time, the tail one by one). Zeroing the whole plane first
  ;; and copying over it wrote the image twice (the zeroing was half the padding's time). The same copy in JavaScript,
  ;; element by element into the shared memory, cost ~1 ms of DoubleConvNet's step. Split across the threads by planes
  ;; (pad.ts).
  (func $padPlanes (export "padPlanes")
    (param $p0 i32) (param $p1 i32) (param $src i32) (param $H i32) (param $W i32) (param $pad i32) (param $dst i32) (param $Hq i32) (param $Wq i32)
    (local $pl i32) (local $y i32) (local $s i32) (local $d i32) (local $end i32) (local $end4 i32) (local $base i32) (local $rowEnd i32)
    (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (i32.mul (local.get $p0) (local.get $H)) (local.get $W)) (i32.const 2))))
    (local.set $pl (local.get $p0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $p1)))
        (local.set $base (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $pl) (local.get $Hq)) (local.get $Wq)) (i32.const 2))))
        ;; the rows above the image
        (call $zeroF32 (local.get $base) (i32.mul (local.get $pad) (local.get $Wq)))
        (local.set $y (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $y) (local.get $H)))
            ;; $d: the start of padded row pad + y; its left margin, the image row, then its right margin
            (local.set $d (i32.add (local.get $base) (i32.shl (i32.mul (i32.add (local.get $y) (local.get $pad)) (local.get $Wq)) (i32.const 2))))
            (local.set $rowEnd (i32.add (local.get $d) (i32.shl (local.get $Wq) (i32.const 2))))
            (local.set $end (i32.add (local.get $d) (i32.shl (local.get $pad) (i32.const 2))))
            (block $ldone
              (loop $lloop
                (br_if $ldone (i32.ge_u (local.get $d) (local.get $end)))
                (f32.store (local.get $d) (f32.const 0))
                (local.set $d (i32.add (local.get $d) (i32.const 4)))
                (br $lloop)))
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
            (block $rdone
              (loop $rloop
                (br_if $rdone (i32.ge_u (local.get $d) (local.get $rowEnd)))
                (f32.store (local.get $d) (f32.const 0))
                (local.set $d (i32.add (local.get $d) (i32.const 4)))
                (br $rloop)))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (br $yloop)))
        ;; the rows below the image
        (call $zeroF32 (i32.add (local.get $base) (i32.shl (i32.mul (i32.add (local.get $pad) (local.get $H)) (local.get $Wq)) (i32.const 2)))
          (i32.mul (i32.sub (local.get $Hq) (i32.add (local.get $pad) (local.get $H))) (local.get $Wq)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))
