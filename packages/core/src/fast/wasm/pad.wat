;; Zero padding of images, for the convolutions that read the padded image in place (conv.wat, pool-filter-grad.wat).

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
