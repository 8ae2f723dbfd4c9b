// Per-residue embeddings from a pretrained protein language model, cached by sequence hash.
process EMBED {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(proteins)
    val backbone          // esm2, esm1b or prott5
    path checkpoint       // local folder with the model weights, or [] (then ext.args names one)

    output:
    tuple val(meta), path("${meta.id}.h5"), emit: embeddings
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('torch'), eval('locflow versions torch'), emit: versions_torch, topic: versions
    tuple val("${task.process}"), val('transformers'), eval('locflow versions transformers'), emit: versions_transformers, topic: versions
    tuple val("${task.process}"), val('peft'), eval('locflow versions peft'), emit: versions_peft, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def checkpoint_arg = checkpoint ? "--checkpoint ${checkpoint}" : ''
    """
    # torch uses as many threads as the task has CPUs, not as the node has cores
    export OMP_NUM_THREADS=${task.cpus}
    locflow embed ${proteins} --backbone ${backbone} ${checkpoint_arg} --out ${meta.id}.h5 ${args}
    """

    stub:
    """
    touch ${meta.id}.h5
    """
}
