;; Element-wise sums: a residual block's merge (with the ReLU after it) and the sum of a value's gradients.

  ;; out[i] = a[i] + b[i] for elements [i0, i1), and with $relu 1 then ReLU with the lesson's mask (a sum <= 0 gives +0,
  ;; NaN passes), as relu.wat's $relu. The f32 sum is the correctly rounded one, as JavaScript's on float32 values.
  (func $addElements (export "addElements")
    (param $i0 i32) (param $i1 i32) (param $a i32) (param $b i32) (param $out i32) (param $relu i32)
    (local $i i32) (local $o i32) (local $end4 i32) (local $v v128) (local $rmask v128) (local $s f32)
    (local.set $rmask (i32x4.splat (i32.sub (i32.const 0) (local.get $relu))))
    (local.set $end4 (i32.add (local.get $i0) (i32.and (i32.sub (local.get $i1) (local.get $i0)) (i32.const -4))))
    (local.set $i (local.get $i0))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $v (f32x4.add (v128.load (i32.add (local.get $a) (local.get $o))) (v128.load (i32.add (local.get $b) (local.get $o)))))
        (v128.store (i32.add (local.get $out) (local.get $o))
          (v128.andnot (local.get $v) (v128.and (f32x4.le (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $rmask))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $s (f32.add (f32.load (i32.add (local.get $a) (local.get $o))) (f32.load (i32.add (local.get $b) (local.get $o)))))
        (f32.store (i32.add (local.get $out) (local.get $o))
          (select (f32.const 0) (local.get $s) (i32.and (local.get $relu) (f32.le (local.get $s) (f32.const 0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sloop))))
